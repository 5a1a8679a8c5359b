"""Versioned schema migrations; a gateway refuses a database newer than the code it runs."""

from __future__ import annotations

__all__ = ["SCHEMA_VERSION", "SQLITE_MIGRATIONS"]

SQLITE_MIGRATIONS: list[tuple[int, list[str]]] = [
    (
        1,
        [
            """CREATE TABLE log_entries (
                idx INTEGER PRIMARY KEY,
                leaf BLOB NOT NULL,
                time_ms INTEGER NOT NULL,
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
            """CREATE TABLE used_jti (
                partner TEXT NOT NULL,
                jti TEXT NOT NULL,
                expires_ms INTEGER NOT NULL,
                PRIMARY KEY (partner, jti)
            )""",
            "CREATE INDEX used_jti_expiry ON used_jti (expires_ms)",
            """CREATE TABLE consents (
                consent_id TEXT PRIMARY KEY,
                subject TEXT NOT NULL,
                recorded_by TEXT NOT NULL,
                record BLOB NOT NULL
            )""",
            "CREATE INDEX consents_by_subject ON consents (subject)",
            """CREATE TABLE inbox (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
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
                sent_ms INTEGER NOT NULL,
                retain_ms INTEGER NOT NULL,
                sealing TEXT NOT NULL,
                body BLOB NOT NULL
            )""",
            "CREATE INDEX inbox_by_recipient ON inbox (recipient, seq)",
            "CREATE INDEX inbox_by_retention ON inbox (retain_ms)",
            """CREATE TABLE case_network (
                case_id TEXT NOT NULL,
                partner_id TEXT NOT NULL,
                role TEXT NOT NULL,
                contact TEXT,
                registered_by TEXT NOT NULL,
                registered_ms INTEGER NOT NULL,
                PRIMARY KEY (case_id, partner_id)
            )""",
            """CREATE TABLE tree_nodes (
                level INTEGER NOT NULL,
                idx INTEGER NOT NULL,
                hash BLOB NOT NULL,
                PRIMARY KEY (level, idx)
            )""",
            """CREATE TABLE checkpoints (
                size INTEGER PRIMARY KEY,
                root_hash BLOB NOT NULL,
                note TEXT NOT NULL,
                time_ms INTEGER NOT NULL
            )""",
        ],
    ),
]

SQLITE_MIGRATIONS.append(
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
                opened_ms INTEGER NOT NULL,
                due_ms INTEGER NOT NULL,
                closed_ms INTEGER,
                closed_by TEXT,
                constraints BLOB
            )""",
            "CREATE INDEX expectations_owed_by ON expectations (owed_by, closed_ms, due_ms)",
            "CREATE INDEX expectations_owed_to ON expectations (owed_to, closed_ms, due_ms)",
            "CREATE INDEX expectations_by_origin ON expectations (origin_exchange_id)",
            """CREATE TABLE household (
                case_id TEXT NOT NULL,
                child_ref TEXT NOT NULL,
                subject TEXT NOT NULL,
                registered_by TEXT NOT NULL,
                registered_ms INTEGER NOT NULL,
                PRIMARY KEY (case_id, child_ref)
            )""",
            """CREATE TABLE break_glass (
                exchange_id TEXT PRIMARY KEY,
                sender TEXT NOT NULL,
                purpose TEXT NOT NULL,
                created_ms INTEGER NOT NULL,
                sealed BLOB NOT NULL,
                status TEXT NOT NULL,
                reviewed_by TEXT,
                reviewed_ms INTEGER,
                sealed_note BLOB
            )""",
            "CREATE INDEX break_glass_by_status ON break_glass (status, created_ms)",
        ],
    )
)

SQLITE_MIGRATIONS.append(
    (
        3,
        [
            """CREATE TABLE notifications (
                partner TEXT NOT NULL,
                kind TEXT NOT NULL,
                created_ms INTEGER NOT NULL,
                next_ms INTEGER NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                PRIMARY KEY (partner, kind)
            )""",
            "CREATE INDEX notifications_due ON notifications (next_ms)",
            "ALTER TABLE expectations ADD COLUMN overdue_notified_ms INTEGER",
            "CREATE INDEX expectations_due ON expectations (closed_ms, overdue_notified_ms, due_ms)",
        ],
    )
)

SQLITE_MIGRATIONS.append((4, ["ALTER TABLE inbox ADD COLUMN leased_until_ms INTEGER"]))

# The privacy officer's workspace: sign-in links and sessions (hashes only), and the reason and
# break-glass flag as columns, so its charts and refusal patterns count with indexes instead of
# parsing every leaf. Rows logged before this version get them from their leaf once, here.
SQLITE_MIGRATIONS.append(
    (
        5,
        [
            """CREATE TABLE officer_links (
                link_hash TEXT PRIMARY KEY,
                officer TEXT NOT NULL,
                actor TEXT NOT NULL,
                expires_ms INTEGER NOT NULL
            )""",
            "CREATE INDEX officer_links_expiry ON officer_links (expires_ms)",
            """CREATE TABLE officer_sessions (
                session_hash TEXT PRIMARY KEY,
                officer TEXT NOT NULL,
                actor TEXT NOT NULL,
                created_ms INTEGER NOT NULL,
                seen_ms INTEGER NOT NULL,
                language TEXT NOT NULL
            )""",
            "CREATE INDEX officer_sessions_seen ON officer_sessions (seen_ms)",
            "ALTER TABLE log_entries ADD COLUMN reason TEXT",
            "ALTER TABLE log_entries ADD COLUMN break_glass INTEGER NOT NULL DEFAULT 0",
            """UPDATE log_entries SET
                reason = json_extract(CAST(leaf AS TEXT), '$.reason'),
                break_glass = CASE WHEN json_extract(CAST(leaf AS TEXT), '$.break_glass')
                    THEN 1 ELSE 0 END
            WHERE json_valid(CAST(leaf AS TEXT))""",
            "CREATE INDEX log_by_decision_time ON log_entries (decision, time_ms)",
        ],
    )
)

# The outbox towards outside logs: a cursor over the log per logbook (every entry goes there, so
# the log itself is the queue), and rows for deliveries that need more than the log holds (a
# partner's Verwerkingenlogging needs the BSN, kept sealed until the partner's log accepts it).
SQLITE_MIGRATIONS.append(
    (
        6,
        [
            """CREATE TABLE outbox_cursors (
                destination TEXT PRIMARY KEY,
                next_idx INTEGER NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                next_ms INTEGER NOT NULL DEFAULT 0,
                lease_ms INTEGER NOT NULL DEFAULT 0
            )""",
            """CREATE TABLE outbox (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                destination TEXT NOT NULL,
                log_idx INTEGER NOT NULL,
                sealed BLOB NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                next_ms INTEGER NOT NULL,
                lease_ms INTEGER NOT NULL DEFAULT 0
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
SQLITE_MIGRATIONS.append(
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
SQLITE_MIGRATIONS.append(
    (
        8,
        [
            """CREATE TABLE subject_birth_dates (
                subject TEXT PRIMARY KEY,
                sealed BLOB NOT NULL
            )""",
            """CREATE TABLE key_fingerprints (
                name TEXT NOT NULL,
                fingerprint TEXT NOT NULL,
                keys_folder TEXT NOT NULL,
                recorded_ms INTEGER NOT NULL,
                retired_ms INTEGER,
                PRIMARY KEY (name, fingerprint)
            )""",
            """INSERT INTO meta (key, value)
                SELECT 'log_origin', substr(note, 1, instr(note, char(10)) - 1) FROM checkpoints
                WHERE instr(note, char(10)) > 1 ORDER BY size DESC LIMIT 1""",
            """CREATE TABLE cases (
                case_id TEXT PRIMARY KEY,
                regisseur TEXT,
                dossier_reference TEXT,
                opened_ms INTEGER NOT NULL
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
            """INSERT OR IGNORE INTO case_network
                (case_id, partner_id, role, contact, registered_by, registered_ms)
            SELECT case_id, regisseur, 'procesregisseur', NULL, regisseur, opened_ms
            FROM cases WHERE regisseur IS NOT NULL""",
        ],
    )
)

SCHEMA_VERSION = SQLITE_MIGRATIONS[-1][0]
