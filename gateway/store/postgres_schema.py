"""PostgreSQL schema migrations: the SQLite schema's versions, tables and indexes, in PostgreSQL types.

Version numbers match `gateway.store.schema.SQLITE_MIGRATIONS` one for one, so "schema version N"
means the same tables on either back end. Two one-row counters exist only here: `log_head` and
`inbox_head` hand out log indices and inbox sequence numbers inside the writing transaction,
because with many gateway instances only a row lock held until commit keeps both gap-free and in
commit order (a SEQUENCE would leave gaps on rollback and could commit out of order).
"""

from __future__ import annotations

__all__ = ["POSTGRES_MIGRATIONS", "POSTGRES_SCHEMA_VERSION"]

POSTGRES_MIGRATIONS: list[tuple[int, list[str]]] = [
    (
        1,
        [
            """CREATE TABLE log_entries (
                idx BIGINT PRIMARY KEY,
                leaf BYTEA NOT NULL,
                time_ms BIGINT NOT NULL,
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
            """CREATE TABLE log_head (
                one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
                size BIGINT NOT NULL
            )""",
            "INSERT INTO log_head (one, size) VALUES (TRUE, 0)",
            """CREATE TABLE used_jti (
                partner TEXT NOT NULL,
                jti TEXT NOT NULL,
                expires_ms BIGINT NOT NULL,
                PRIMARY KEY (partner, jti)
            )""",
            "CREATE INDEX used_jti_expiry ON used_jti (expires_ms)",
            """CREATE TABLE consents (
                consent_id TEXT PRIMARY KEY,
                subject TEXT NOT NULL,
                recorded_by TEXT NOT NULL,
                record BYTEA NOT NULL
            )""",
            "CREATE INDEX consents_by_subject ON consents (subject)",
            """CREATE TABLE inbox (
                seq BIGINT PRIMARY KEY,
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
                sent_ms BIGINT NOT NULL,
                retain_ms BIGINT NOT NULL,
                sealing TEXT NOT NULL,
                body BYTEA NOT NULL
            )""",
            "CREATE INDEX inbox_by_recipient ON inbox (recipient, seq)",
            "CREATE INDEX inbox_by_retention ON inbox (retain_ms)",
            """CREATE TABLE inbox_head (
                one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
                seq BIGINT NOT NULL
            )""",
            "INSERT INTO inbox_head (one, seq) VALUES (TRUE, 0)",
            """CREATE TABLE case_network (
                case_id TEXT NOT NULL,
                partner_id TEXT NOT NULL,
                role TEXT NOT NULL,
                contact TEXT,
                registered_by TEXT NOT NULL,
                registered_ms BIGINT NOT NULL,
                PRIMARY KEY (case_id, partner_id)
            )""",
            """CREATE TABLE tree_nodes (
                level INTEGER NOT NULL,
                idx BIGINT NOT NULL,
                hash BYTEA NOT NULL,
                PRIMARY KEY (level, idx)
            )""",
            """CREATE TABLE checkpoints (
                size BIGINT PRIMARY KEY,
                root_hash BYTEA NOT NULL,
                note TEXT NOT NULL,
                time_ms BIGINT NOT NULL
            )""",
        ],
    ),
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
                opened_ms BIGINT NOT NULL,
                due_ms BIGINT NOT NULL,
                closed_ms BIGINT,
                closed_by TEXT,
                constraints BYTEA
            )""",
            "CREATE INDEX expectations_owed_by ON expectations (owed_by, closed_ms, due_ms)",
            "CREATE INDEX expectations_owed_to ON expectations (owed_to, closed_ms, due_ms)",
            "CREATE INDEX expectations_by_origin ON expectations (origin_exchange_id)",
            """CREATE TABLE household (
                case_id TEXT NOT NULL,
                child_ref TEXT NOT NULL,
                subject TEXT NOT NULL,
                registered_by TEXT NOT NULL,
                registered_ms BIGINT NOT NULL,
                PRIMARY KEY (case_id, child_ref)
            )""",
            """CREATE TABLE break_glass (
                exchange_id TEXT PRIMARY KEY,
                sender TEXT NOT NULL,
                purpose TEXT NOT NULL,
                created_ms BIGINT NOT NULL,
                sealed BYTEA NOT NULL,
                status TEXT NOT NULL,
                reviewed_by TEXT,
                reviewed_ms BIGINT,
                sealed_note BYTEA
            )""",
            "CREATE INDEX break_glass_by_status ON break_glass (status, created_ms)",
        ],
    ),
    (
        3,
        [
            """CREATE TABLE notifications (
                partner TEXT NOT NULL,
                kind TEXT NOT NULL,
                created_ms BIGINT NOT NULL,
                next_ms BIGINT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                PRIMARY KEY (partner, kind)
            )""",
            "CREATE INDEX notifications_due ON notifications (next_ms)",
            "ALTER TABLE expectations ADD COLUMN overdue_notified_ms BIGINT",
            "CREATE INDEX expectations_due ON expectations (closed_ms, overdue_notified_ms, due_ms)",
        ],
    ),
    (
        4,
        ["ALTER TABLE inbox ADD COLUMN leased_until_ms BIGINT"],
    ),
    (
        5,
        [
            """CREATE TABLE officer_links (
                link_hash TEXT PRIMARY KEY,
                officer TEXT NOT NULL,
                actor TEXT NOT NULL,
                expires_ms BIGINT NOT NULL
            )""",
            "CREATE INDEX officer_links_expiry ON officer_links (expires_ms)",
            """CREATE TABLE officer_sessions (
                session_hash TEXT PRIMARY KEY,
                officer TEXT NOT NULL,
                actor TEXT NOT NULL,
                created_ms BIGINT NOT NULL,
                seen_ms BIGINT NOT NULL,
                language TEXT NOT NULL
            )""",
            "CREATE INDEX officer_sessions_seen ON officer_sessions (seen_ms)",
            "ALTER TABLE log_entries ADD COLUMN reason TEXT",
            "ALTER TABLE log_entries ADD COLUMN break_glass BOOLEAN NOT NULL DEFAULT FALSE",
            # Entries logged before version 5 get both columns from their leaf, once.
            """UPDATE log_entries SET
                reason = convert_from(leaf, 'UTF8')::jsonb ->> 'reason',
                break_glass = COALESCE((convert_from(leaf, 'UTF8')::jsonb ->> 'break_glass')::boolean,
                    FALSE)""",
            "CREATE INDEX log_by_decision_time ON log_entries (decision, time_ms)",
        ],
    ),
    (
        6,
        [
            """CREATE TABLE outbox_cursors (
                destination TEXT PRIMARY KEY,
                next_idx BIGINT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                next_ms BIGINT NOT NULL DEFAULT 0,
                lease_ms BIGINT NOT NULL DEFAULT 0
            )""",
            """CREATE TABLE outbox (
                seq BIGSERIAL PRIMARY KEY,
                destination TEXT NOT NULL,
                log_idx BIGINT NOT NULL,
                sealed BYTEA NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                next_ms BIGINT NOT NULL,
                lease_ms BIGINT NOT NULL DEFAULT 0
            )""",
            "CREATE INDEX outbox_due ON outbox (destination, next_ms, seq)",
            "ALTER TABLE inbox ADD COLUMN subject_system TEXT",
        ],
    ),
    (7, ["CREATE INDEX log_by_purpose_decision ON log_entries (purpose, decision, idx)"]),
    (
        8,
        [
            """CREATE TABLE subject_birth_dates (
                subject TEXT PRIMARY KEY,
                sealed BYTEA NOT NULL
            )""",
            """CREATE TABLE key_fingerprints (
                name TEXT NOT NULL,
                fingerprint TEXT NOT NULL,
                keys_folder TEXT NOT NULL,
                recorded_ms BIGINT NOT NULL,
                retired_ms BIGINT,
                PRIMARY KEY (name, fingerprint)
            )""",
            """INSERT INTO meta (key, value)
                SELECT 'log_origin', split_part(note, E'\\n', 1) FROM checkpoints
                WHERE position(E'\\n' in note) > 1 ORDER BY size DESC LIMIT 1""",
            # Cases opened explicitly; existing case ids become cases as they are (schema.py, 8).
            """CREATE TABLE cases (
                case_id TEXT PRIMARY KEY,
                regisseur TEXT,
                dossier_reference TEXT,
                opened_ms BIGINT NOT NULL
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
            """INSERT INTO case_network
                (case_id, partner_id, role, contact, registered_by, registered_ms)
            SELECT case_id, regisseur, 'procesregisseur', NULL, regisseur, opened_ms
            FROM cases WHERE regisseur IS NOT NULL
            ON CONFLICT DO NOTHING""",
        ],
    ),
]

POSTGRES_SCHEMA_VERSION = POSTGRES_MIGRATIONS[-1][0]
