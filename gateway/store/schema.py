"""Versioned schema migrations, one definition for both back ends; a gateway refuses a database
newer than the code it runs.

Each statement is written once and rendered per dialect (`gateway.store.sql.dialect`: `{int64}`
is INTEGER or BIGINT, `{bytes}` BLOB or BYTEA...), so "schema version N" means the same tables on
either back end; `Only` marks the few statements one back end runs in its own words. Two one-row
counters exist only in PostgreSQL: `log_head` and `inbox_head` hand out log indices and inbox
sequence numbers inside the writing transaction, because with many gateway instances only a row
lock held until commit keeps both gap-free and in commit order (a SEQUENCE would leave gaps on
rollback and could commit out of order).
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.store.base import check_schema_version
from gateway.store.sql.dialect import POSTGRESQL, SQLITE, Dialect
from gateway.store.sql.txn import Statement, Txn, row, run

__all__ = [
    "MIGRATIONS",
    "POSTGRES_MIGRATIONS",
    "SCHEMA_VERSION",
    "SQLITE_MIGRATIONS",
    "Only",
    "migration",
]


@dataclass(frozen=True, slots=True)
class Only:
    """A statement in each back end's own words; None where that back end has nothing to do."""

    sqlite: str | None
    postgresql: str | None

    def on(self, dialect: Dialect) -> str | None:
        return self.sqlite if dialect is SQLITE else self.postgresql


_COUNTER = """CREATE TABLE {name} (
                one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
                {column} BIGINT NOT NULL
            )"""

MIGRATIONS: list[tuple[int, list[str | Only]]] = [
    (
        1,
        [
            """CREATE TABLE log_entries (
                idx {int64} PRIMARY KEY,
                leaf {bytes} NOT NULL,
                time_ms {int64} NOT NULL,
                decision TEXT NOT NULL,
                purpose TEXT,
                sender TEXT,
                recipient TEXT,
                subject TEXT,
                exchange_id TEXT
            )""",
            "CREATE INDEX log_by_subject ON log_entries (subject, idx)",
            "CREATE INDEX log_by_sender ON log_entries (sender, idx)",
            "CREATE INDEX log_by_recipient ON log_entries (recipient, idx)",
            "CREATE INDEX log_by_purpose ON log_entries (purpose, idx)",
            "CREATE INDEX log_by_decision ON log_entries (decision, idx)",
            "CREATE INDEX log_by_time ON log_entries (time_ms)",
            Only(None, _COUNTER.format(name="log_head", column="size")),
            Only(None, "INSERT INTO log_head (one, size) VALUES (TRUE, 0)"),
            """CREATE TABLE used_jti (
                partner TEXT NOT NULL,
                jti TEXT NOT NULL,
                expires_ms {int64} NOT NULL,
                PRIMARY KEY (partner, jti)
            )""",
            "CREATE INDEX used_jti_expiry ON used_jti (expires_ms)",
            """CREATE TABLE consents (
                consent_id TEXT PRIMARY KEY,
                subject TEXT NOT NULL,
                recorded_by TEXT NOT NULL,
                record {bytes} NOT NULL
            )""",
            "CREATE INDEX consents_by_subject ON consents (subject)",
            """CREATE TABLE inbox (
                seq {counted_key},
                message_id TEXT NOT NULL UNIQUE,
                recipient TEXT NOT NULL,
                subject TEXT NOT NULL,
                exchange_id TEXT NOT NULL,
                disclosure_id TEXT NOT NULL,
                purpose TEXT NOT NULL,
                sender_partner TEXT NOT NULL,
                sender_role TEXT,
                case_id TEXT,
                in_reply_to TEXT,
                sent_ms {int64} NOT NULL,
                retain_ms {int64} NOT NULL,
                sealing TEXT NOT NULL,
                body {bytes} NOT NULL
            )""",
            "CREATE INDEX inbox_by_recipient ON inbox (recipient, seq)",
            "CREATE INDEX inbox_by_retention ON inbox (retain_ms)",
            Only(None, _COUNTER.format(name="inbox_head", column="seq")),
            Only(None, "INSERT INTO inbox_head (one, seq) VALUES (TRUE, 0)"),
            """CREATE TABLE case_network (
                case_id TEXT NOT NULL,
                partner_id TEXT NOT NULL,
                role TEXT NOT NULL,
                contact TEXT,
                registered_by TEXT NOT NULL,
                registered_ms {int64} NOT NULL,
                PRIMARY KEY (case_id, partner_id)
            )""",
            """CREATE TABLE tree_nodes (
                level INTEGER NOT NULL,
                idx {int64} NOT NULL,
                hash {bytes} NOT NULL,
                PRIMARY KEY (level, idx)
            )""",
            """CREATE TABLE checkpoints (
                size {int64} PRIMARY KEY,
                root_hash {bytes} NOT NULL,
                note TEXT NOT NULL,
                time_ms {int64} NOT NULL
            )""",
        ],
    ),
]

MIGRATIONS.append(
    (
        2,
        [
            """CREATE TABLE expectations (
                expectation_id TEXT PRIMARY KEY,
                purpose TEXT NOT NULL,
                origin_purpose TEXT NOT NULL,
                origin_exchange_id TEXT,
                case_id TEXT,
                owed_by TEXT NOT NULL,
                owed_to TEXT NOT NULL,
                subject TEXT,
                child_ref TEXT,
                opened_ms {int64} NOT NULL,
                due_ms {int64} NOT NULL,
                closed_ms {int64},
                closed_by TEXT,
                constraints {bytes}
            )""",
            "CREATE INDEX expectations_owed_by ON expectations (owed_by, closed_ms, due_ms)",
            "CREATE INDEX expectations_owed_to ON expectations (owed_to, closed_ms, due_ms)",
            "CREATE INDEX expectations_by_origin ON expectations (origin_exchange_id)",
            """CREATE TABLE household (
                case_id TEXT NOT NULL,
                child_ref TEXT NOT NULL,
                subject TEXT NOT NULL,
                registered_by TEXT NOT NULL,
                registered_ms {int64} NOT NULL,
                PRIMARY KEY (case_id, child_ref)
            )""",
            """CREATE TABLE break_glass (
                exchange_id TEXT PRIMARY KEY,
                sender TEXT NOT NULL,
                purpose TEXT NOT NULL,
                created_ms {int64} NOT NULL,
                sealed {bytes} NOT NULL,
                status TEXT NOT NULL,
                reviewed_by TEXT,
                reviewed_ms {int64},
                sealed_note {bytes}
            )""",
            "CREATE INDEX break_glass_by_status ON break_glass (status, created_ms)",
        ],
    )
)

MIGRATIONS.append(
    (
        3,
        [
            """CREATE TABLE notifications (
                partner TEXT NOT NULL,
                kind TEXT NOT NULL,
                created_ms {int64} NOT NULL,
                next_ms {int64} NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                PRIMARY KEY (partner, kind)
            )""",
            "CREATE INDEX notifications_due ON notifications (next_ms)",
            "ALTER TABLE expectations ADD COLUMN overdue_notified_ms {int64}",
            "CREATE INDEX expectations_due ON expectations (closed_ms, overdue_notified_ms, due_ms)",
        ],
    )
)

MIGRATIONS.append((4, ["ALTER TABLE inbox ADD COLUMN leased_until_ms {int64}"]))

# The privacy officer's workspace: sign-in links and sessions (hashes only), and the reason and
# break-glass flag as columns, so its charts and refusal patterns count with indexes instead of
# parsing every leaf. Rows logged before this version get them from their leaf once, here.
MIGRATIONS.append(
    (
        5,
        [
            """CREATE TABLE officer_links (
                link_hash TEXT PRIMARY KEY,
                officer TEXT NOT NULL,
                actor TEXT NOT NULL,
                expires_ms {int64} NOT NULL
            )""",
            "CREATE INDEX officer_links_expiry ON officer_links (expires_ms)",
            """CREATE TABLE officer_sessions (
                session_hash TEXT PRIMARY KEY,
                officer TEXT NOT NULL,
                actor TEXT NOT NULL,
                created_ms {int64} NOT NULL,
                seen_ms {int64} NOT NULL,
                language TEXT NOT NULL
            )""",
            "CREATE INDEX officer_sessions_seen ON officer_sessions (seen_ms)",
            "ALTER TABLE log_entries ADD COLUMN reason TEXT",
            "ALTER TABLE log_entries ADD COLUMN break_glass {flag}",
            Only(
                """UPDATE log_entries SET
                reason = json_extract(CAST(leaf AS TEXT), '$.reason'),
                break_glass = CASE WHEN json_extract(CAST(leaf AS TEXT), '$.break_glass')
                    THEN 1 ELSE 0 END
            WHERE json_valid(CAST(leaf AS TEXT))""",
                """UPDATE log_entries SET
                reason = convert_from(leaf, 'UTF8')::jsonb ->> 'reason',
                break_glass = COALESCE((convert_from(leaf, 'UTF8')::jsonb ->> 'break_glass')::boolean,
                    FALSE)""",
            ),
            "CREATE INDEX log_by_decision_time ON log_entries (decision, time_ms)",
        ],
    )
)

# The outbox towards outside logs: a cursor over the log per logbook (every entry goes there, so
# the log itself is the queue), and rows for deliveries that need more than the log holds (a
# partner's Verwerkingenlogging needs the BSN, kept sealed until the partner's log accepts it).
MIGRATIONS.append(
    (
        6,
        [
            """CREATE TABLE outbox_cursors (
                destination TEXT PRIMARY KEY,
                next_idx {int64} NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                next_ms {int64} NOT NULL DEFAULT 0,
                lease_ms {int64} NOT NULL DEFAULT 0
            )""",
            """CREATE TABLE outbox (
                seq {serial_key},
                destination TEXT NOT NULL,
                log_idx {int64} NOT NULL,
                sealed {bytes} NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                next_ms {int64} NOT NULL,
                lease_ms {int64} NOT NULL DEFAULT 0
            )""",
            "CREATE INDEX outbox_due ON outbox (destination, next_ms, seq)",
            # A subject named by an identifier system: its receipt and purge entries say which.
            "ALTER TABLE inbox ADD COLUMN subject_system TEXT",
        ],
    )
)

# Audit searches by purpose and decision together walk one index in log order (see
# gateway/store/_search.py): with an index per column, a rare purpose among a common decision
# walked every entry of that decision.
MIGRATIONS.append(
    (7, ["CREATE INDEX log_by_purpose_decision ON log_entries (purpose, decision, idx)"])
)

# Schema 8 (issue 17, who may say what about whom):
# - One birth date per subject: the age rules follow it, whatever date a consent gave. Sealed
#   with the at-rest key like consent records; keyed by the subject's pseudonym.
# - The log's identity: which origin its checkpoints name (meta 'log_origin'; a log that
#   already has checkpoints keeps the origin of its latest one) and which keys made the database
#   (fingerprints only, never a key: docs/log-format.md, "The log's origin and keys").
# - Cases are opened explicitly (POST /v1/cases) under an id the gateway chooses, by a social team
#   that directs them. Every case id already in case_network becomes a case as it is: its director
#   is its procesregisseur member, else the partner that registered others (before this version only
#   a social team could), else none; a director that was not a member becomes its procesregisseur.
#   (The column is `regisseur`: the data-folder scan looks for payload words such as "direct".)
MIGRATIONS.append(
    (
        8,
        [
            """CREATE TABLE subject_birth_dates (
                subject TEXT PRIMARY KEY,
                sealed {bytes} NOT NULL
            )""",
            """CREATE TABLE key_fingerprints (
                name TEXT NOT NULL,
                fingerprint TEXT NOT NULL,
                keys_folder TEXT NOT NULL,
                recorded_ms {int64} NOT NULL,
                retired_ms {int64},
                PRIMARY KEY (name, fingerprint)
            )""",
            Only(
                """INSERT INTO meta (key, value)
                SELECT 'log_origin', substr(note, 1, instr(note, char(10)) - 1) FROM checkpoints
                WHERE instr(note, char(10)) > 1 ORDER BY size DESC LIMIT 1""",
                """INSERT INTO meta (key, value)
                SELECT 'log_origin', split_part(note, E'\\n', 1) FROM checkpoints
                WHERE position(E'\\n' in note) > 1 ORDER BY size DESC LIMIT 1""",
            ),
            """CREATE TABLE cases (
                case_id TEXT PRIMARY KEY,
                regisseur TEXT,
                dossier_reference TEXT,
                opened_ms {int64} NOT NULL
            )""",
            """INSERT INTO cases (case_id, regisseur, dossier_reference, opened_ms)
            SELECT n.case_id,
                COALESCE(
                    (SELECT p.partner_id FROM case_network p
                     WHERE p.case_id = n.case_id AND p.role = 'procesregisseur'
                     ORDER BY p.registered_ms, p.partner_id LIMIT 1),
                    (SELECT r.registered_by FROM case_network r
                     WHERE r.case_id = n.case_id AND r.registered_by <> r.partner_id
                     ORDER BY r.registered_ms, r.partner_id LIMIT 1)),
                NULL, MIN(n.registered_ms)
            FROM case_network n GROUP BY n.case_id""",
            Only(
                """INSERT OR IGNORE INTO case_network
                (case_id, partner_id, role, contact, registered_by, registered_ms)
            SELECT case_id, regisseur, 'procesregisseur', NULL, regisseur, opened_ms
            FROM cases WHERE regisseur IS NOT NULL""",
                """INSERT INTO case_network
                (case_id, partner_id, role, contact, registered_by, registered_ms)
            SELECT case_id, regisseur, 'procesregisseur', NULL, regisseur, opened_ms
            FROM cases WHERE regisseur IS NOT NULL
            ON CONFLICT DO NOTHING""",
            ),
        ],
    )
)


# Schema 9 (issue 19, retention and erasure):
# - A subject's pseudonym is a random value reached through `subject_links`, keyed by an HMAC of
#   the subject under its own domain ("link:"), so erasing the row unlinks the person from every
#   entry written under it for good. Pseudonyms in use before this version are HMACs of the
#   subject itself; `legacy_subjects` lists them once, here, so a subject seen before keeps its
#   pseudonym (its consents, birth date and log entries) when first looked up, unless erased.
# - Consents carry when their retention ends (set when recorded or withdrawn; NULL while the
#   consent has no end) and whether that is known: consents recorded before this version are
#   not (their end is sealed), until a retention run opens them and sets it.
MIGRATIONS.append(
    (
        9,
        [
            """CREATE TABLE subject_links (
                link_key TEXT PRIMARY KEY,
                pseudonym TEXT NOT NULL,
                linked_ms {int64} NOT NULL
            )""",
            """CREATE TABLE legacy_subjects (
                pseudonym TEXT PRIMARY KEY
            )""",
            """INSERT INTO legacy_subjects (pseudonym)
            SELECT subject FROM log_entries WHERE subject IS NOT NULL
            UNION SELECT subject FROM consents
            UNION SELECT subject FROM household
            UNION SELECT subject FROM expectations WHERE subject IS NOT NULL
            UNION SELECT subject FROM subject_birth_dates
            UNION SELECT subject FROM inbox""",
            "ALTER TABLE consents ADD COLUMN retain_ms {int64}",
            "CREATE INDEX consents_by_retention ON consents (retain_ms)",
            "ALTER TABLE consents ADD COLUMN term_known {flag}",
            "CREATE INDEX consents_by_term_known ON consents (term_known)",
        ],
    )
)


# Schema 10 (issue 18, the speed regression of issue 19's relations): whether a partner
# received a referral about a person, or sent its start message, is asked on every exchange of
# a purpose that presumes a relation. Started from `log_by_subject`, a lookup that finds
# nothing read every entry of the person, so the cost of an exchange grew with the person's
# history; this index goes straight to the person's entries of the few purposes that
# establish a relation. The same questions read the household and the expectations by subject
# (is the person in a case of the partner's; does the partner owe something about the person),
# and erasure deletes both by subject: without an index each read every row of the table.
MIGRATIONS.append(
    (
        10,
        [
            "CREATE INDEX log_by_subject_purpose ON log_entries (subject, purpose, idx)",
            "CREATE INDEX household_by_subject ON household (subject)",
            "CREATE INDEX expectations_by_subject ON expectations (subject)",
        ],
    )
)


# Schema 11 (issue 19, retention of cases and held birth dates):
# - A case's last activity: the time of the latest log entry that names it (its opening, every
#   change of its network or household, every exchange, receipt, consent or correction made for
#   it), kept in the same transaction as the entry, so a retention run finds the cases inactive
#   for their term with an index instead of reading leaves. Cases held before this version get
#   it from their rows and, once, from the leaves that name them (a full read of the log).
# - When a held birth date was recorded or last corrected; dates held before this version take
#   the time of the latest entry about their subject (the claim or correction is no later).
# - An index for the question a run asks per case: is an expectation about it still open (the
#   questions per subject use schema 10's indexes by subject).
MIGRATIONS.append(
    (
        11,
        [
            "ALTER TABLE cases ADD COLUMN last_activity_ms {int64} NOT NULL DEFAULT 0",
            """UPDATE cases SET last_activity_ms = {greatest}(opened_ms,
                COALESCE((SELECT MAX(n.registered_ms) FROM case_network n
                    WHERE n.case_id = cases.case_id), 0),
                COALESCE((SELECT MAX(h.registered_ms) FROM household h
                    WHERE h.case_id = cases.case_id), 0))""",
            Only(
                """UPDATE cases SET last_activity_ms = MAX(cases.last_activity_ms, named.latest)
                FROM (SELECT json_extract(CAST(leaf AS TEXT), '$.case_id') AS case_id,
                        MAX(time_ms) AS latest
                    FROM log_entries WHERE json_valid(CAST(leaf AS TEXT))
                    GROUP BY json_extract(CAST(leaf AS TEXT), '$.case_id')) AS named
                WHERE named.case_id = cases.case_id""",
                """UPDATE cases SET last_activity_ms = GREATEST(cases.last_activity_ms, named.latest)
                FROM (SELECT convert_from(leaf, 'UTF8')::jsonb ->> 'case_id' AS case_id,
                        MAX(time_ms) AS latest
                    FROM log_entries GROUP BY 1) AS named
                WHERE named.case_id = cases.case_id""",
            ),
            "CREATE INDEX cases_by_activity ON cases (last_activity_ms)",
            "ALTER TABLE subject_birth_dates ADD COLUMN recorded_ms {int64} NOT NULL DEFAULT 0",
            """UPDATE subject_birth_dates SET recorded_ms = COALESCE(
                (SELECT MAX(l.time_ms) FROM log_entries l
                 WHERE l.subject = subject_birth_dates.subject), 0)""",
            "CREATE INDEX birth_dates_by_recorded ON subject_birth_dates (recorded_ms)",
            "CREATE INDEX expectations_by_case ON expectations (case_id, closed_ms)",
        ],
    )
)


# Schema 12 (issue 20, a case has a life): a case is active or closed, and records who opened
# it and on what (a coded occasion, and the referral's exchange id where there was one). Its
# closures and reopenings are `case_events`, numbered per case, each with a coded reason and
# the partner that acted. An expectation the closure cancelled keeps the closure's reason in
# `cancelled_reason` (its closed_ms is the closure's time), so it is never overdue again;
# closing reads a case's open expectations by `expectations_by_case` (schema 11).
MIGRATIONS.append(
    (
        12,
        [
            "ALTER TABLE cases ADD COLUMN state TEXT NOT NULL DEFAULT 'active'",
            "ALTER TABLE cases ADD COLUMN opened_by TEXT",
            "UPDATE cases SET opened_by = regisseur",
            "ALTER TABLE cases ADD COLUMN opened_on TEXT",
            "ALTER TABLE cases ADD COLUMN opened_on_exchange TEXT",
            """CREATE TABLE case_events (
                case_id TEXT NOT NULL,
                event_no {int64} NOT NULL,
                event TEXT NOT NULL,
                reason TEXT NOT NULL,
                by_partner TEXT NOT NULL,
                at_ms {int64} NOT NULL,
                PRIMARY KEY (case_id, event_no)
            )""",
            "ALTER TABLE expectations ADD COLUMN cancelled_reason TEXT",
        ],
    )
)


# Schema 13 (issue 20, roles in a case): the professional acting for the partner that holds
# procesregie (`cases.regisseur`), from the token's actor; the column (youth, wmo, income) a
# casusregisseur directs, and the type of the child-protection measure a certified institution
# holds in the case (its ruling stays in the log); and per household child the certified
# institution that directs the help for that child under its measure (NULL: the procesregisseur).
MIGRATIONS.append(
    (
        13,
        [
            "ALTER TABLE cases ADD COLUMN regisseur_actor TEXT",
            "ALTER TABLE case_network ADD COLUMN care_column TEXT",
            "ALTER TABLE case_network ADD COLUMN measure TEXT",
            "ALTER TABLE household ADD COLUMN directed_by TEXT",
        ],
    )
)


def rendered(dialect: Dialect) -> list[tuple[int, list[str]]]:
    """The migrations in `dialect`'s words."""
    out: list[tuple[int, list[str]]] = []
    for version, statements in MIGRATIONS:
        texts = [s.on(dialect) if isinstance(s, Only) else dialect.render(s) for s in statements]
        out.append((version, [text for text in texts if text is not None]))
    return out


SQLITE_MIGRATIONS = rendered(SQLITE)
POSTGRES_MIGRATIONS = rendered(POSTGRESQL)
SCHEMA_VERSION = MIGRATIONS[-1][0]


def migration(migrations: list[tuple[int, list[str]]], where: str) -> Txn[int]:
    """Bring the schema to SCHEMA_VERSION inside the caller's transaction (`migrations`: one
    back end's rendering); refuse a database newer than this code."""
    yield from run("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    found = yield from row("SELECT value FROM meta WHERE key = 'schema_version'")
    version = 0 if found is None else int(found[0])
    if version > SCHEMA_VERSION:
        check_schema_version(version, SCHEMA_VERSION, where)
    for target, statements in migrations:
        if target > version:
            for statement in statements:
                yield Statement(statement, verbatim=True)
    yield from run(
        "INSERT INTO meta (key, value) VALUES ('schema_version', ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        str(SCHEMA_VERSION),
    )
    return SCHEMA_VERSION
