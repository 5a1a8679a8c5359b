"""The storage interface every back end implements, and the values that cross it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol

from gateway.log.entry import LogEntry

__all__ = [
    "ActivityCount",
    "BirthDateStore",
    "BreakGlassRecord",
    "BreakGlassStore",
    "Case",
    "CaseClosure",
    "CaseEvent",
    "CaseStore",
    "ConsentStore",
    "ExchangeEffects",
    "ExchangeStore",
    "Expectation",
    "ExpectationStore",
    "HouseholdChild",
    "KeyFingerprint",
    "Lifecycle",
    "Lock",
    "LogFeedBatch",
    "LogFilter",
    "LogIdentityStore",
    "LogRow",
    "LogStore",
    "NetworkMember",
    "NotificationStore",
    "OfficerLink",
    "OfficerSession",
    "OfficerSessionStore",
    "OutboxItem",
    "OutboxRow",
    "OutboxStore",
    "PendingNotification",
    "RefusalCount",
    "RelationStore",
    "ReplayCache",
    "RetentionStore",
    "RetentionTerms",
    "SchemaVersionError",
    "Storage",
    "StorageUnusable",
    "StoredCheckpoint",
    "StoredConsent",
    "StoredMessage",
    "SubjectLinkStore",
    "TransparencyLog",
    "TreeStore",
    "VerifyRow",
    "check_schema_version",
]


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A message waiting in a recipient's inbox; `body` is sealed, never plaintext."""

    message_id: str
    recipient: str
    subject: str  # pseudonym, for the receipt's log entry
    exchange_id: str
    disclosure_id: str
    purpose: str
    sender_partner: str
    sender_role: str | None
    case_id: str | None
    in_reply_to: str | None
    sent_at: datetime
    retain_until: datetime
    sealing: str  # "at-rest" (gateway key) or "hpke" (recipient's key)
    body: bytes
    seq: int = 0  # inbox order, assigned by storage
    subject_system: str | None = None  # the identifier system; None for a BSN


@dataclass(frozen=True, slots=True)
class Case:
    """A case opened by a social team (its director), under an id the gateway chose.

    `director` is None only for a case migrated from before cases were opened explicitly whose
    network named no procesregisseur and no social team that registered others.
    """

    case_id: str
    director: str | None
    dossier_reference: str | None  # the director's own reference, shown to it alone
    opened_at: datetime
    state: str = "active"  # active | closed (docs/workflows.md, "A case's life")
    # Who opened it (None: migrated from before schema 11 without a director), and on what:
    # a coded occasion (signal | referral | report | own_request) and the referral's exchange id.
    opened_by: str | None = None
    opened_on: str | None = None
    opened_on_exchange: str | None = None
    # The professional acting for the director (who holds procesregie), from the token's actor;
    # None for a case from before schema 13, and after a hand-over to another partner until one
    # of its professionals takes the role (docs/workflows.md, "Roles in a case").
    director_actor: str | None = None


@dataclass(frozen=True, slots=True)
class CaseEvent:
    """A change of a case's state after its opening: closed or reopened, by whom, with a code."""

    case_id: str
    event: str  # closed | reopened
    reason: str  # a code from CLOSE_REASONS or REOPEN_REASONS (gateway.policy.lifecycle)
    by_partner: str
    at: datetime


@dataclass(frozen=True, slots=True)
class CaseClosure:
    """What closing a case did: the log entry's index and the expectations it cancelled."""

    log_index: int
    cancelled: tuple[Expectation, ...]


@dataclass(frozen=True, slots=True)
class NetworkMember:
    """A partner's involvement in a case: only the fact, its role and a contact, no content."""

    case_id: str
    partner_id: str
    role: str  # procesregisseur | casusregisseur | referrer | involved
    contact: str | None  # JSON of {name, phone, email}, professional contact only
    registered_by: str
    registered_at: datetime
    care_column: str | None = None  # a casusregisseur's column: youth | wmo | income
    measure: str | None = None  # the type of a certified institution's measure in this case


@dataclass(frozen=True, slots=True)
class Expectation:
    """A reply some partner owes another, by a deadline: open until a matching reply arrives."""

    expectation_id: str
    purpose: str  # the purpose of the reply expected
    origin_purpose: str  # what gave rise to it (a referral, a GI joining a case, ...)
    origin_exchange_id: str | None
    case_id: str | None
    owed_by: str
    owed_to: str
    subject: str | None  # pseudonym: the person (for per-child expectations, the child)
    child_ref: str | None
    opened_at: datetime
    due_at: datetime
    closed_at: datetime | None = None
    closed_by: str | None = None  # the exchange that closed it
    constraints: bytes | None = None  # sealed JSON: what the reply may answer (codes only)
    # Set when the case's closure cancelled it (the closure's reason code); closed_at is then
    # the closure's time and closed_by None.
    cancelled_reason: str | None = None


@dataclass(frozen=True, slots=True)
class HouseholdChild:
    """A child of a case's household: an opaque reference and the child's pseudonym."""

    case_id: str
    child_ref: str
    subject: str
    registered_by: str
    registered_at: datetime
    # The certified institution that directs the help for this child under its measure; None:
    # the case's procesregisseur directs it with the rest of the household.
    directed_by: str | None = None


@dataclass(frozen=True, slots=True)
class BreakGlassRecord:
    """A break-glass disclosure waiting for (or given) a privacy officer's review."""

    exchange_id: str
    sender: str
    purpose: str
    created_at: datetime
    sealed: bytes  # the justification and the meldcode answers, sealed at rest
    status: str = "pending"  # pending | justified | unjustified
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None
    sealed_note: bytes | None = None


@dataclass(frozen=True, slots=True)
class ExchangeEffects:
    """What an exchange changes besides the log and the inbox, committed with them."""

    open: tuple[Expectation, ...] = ()
    close: tuple[str, ...] = ()  # expectation ids closed by this exchange
    closed_by: str | None = None  # the exchange id that closes them
    closed_at: datetime | None = None
    break_glass: BreakGlassRecord | None = None


@dataclass(frozen=True, slots=True)
class PendingNotification:
    """A partner to poke: "you have new messages" or "an expectation is overdue"."""

    partner: str
    kind: str  # new_messages | expectation_overdue
    created_at: datetime
    attempts: int


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """A delivery to an outside log, queued in the same transaction as the entry it is about."""

    destination: str  # e.g. "vng:<partner id>"
    entry_position: int  # which of the write's entries (0-based) it is about
    sealed: bytes  # what the log does not hold (the subject's identifier), sealed at rest


@dataclass(frozen=True, slots=True)
class LogFeedBatch:
    """Log entries claimed for an outside log, and how often delivering from there has failed."""

    rows: tuple[LogRow, ...]
    attempts: int


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """A claimed outbox delivery with the log entry it is about."""

    seq: int
    index: int
    leaf: bytes
    sealed: bytes
    attempts: int


@dataclass(frozen=True, slots=True)
class StoredConsent:
    """A consent record as kept: lookup columns in clear, the record itself sealed at rest."""

    consent_id: str
    subject: str
    recorded_by: str
    sealed_record: bytes
    # When the record's retention ends (its end or withdrawal plus the catalogue's term); None
    # while the consent has no end.
    retain_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class LogRow:
    """A log entry with its position in the log."""

    index: int
    leaf: bytes

    @property
    def entry(self) -> LogEntry:
        return LogEntry.from_canonical(self.leaf)


VerifyRow = tuple[Any, ...]
"""What `gateway log verify` reads per entry: its index, its leaf bytes, the leaf hash stored in
the tree for it (None when none is stored), then the row's searchable columns in the order of
`gateway.log.columns.SEARCHABLE_COLUMNS`. Plain tuples: millions are read per run."""


@dataclass(frozen=True, slots=True)
class LogFilter:
    """The audit search's filters; each None means "any"."""

    subject: str | None = None
    partner: str | None = None
    purpose: str | None = None
    decision: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    # Only entries whose sender or recipient is one of these partners (a privacy officer's
    # oversight); None: any entry. An empty set matches nothing.
    parties: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    """A signed checkpoint as published."""

    size: int
    root_hash: bytes
    note: str
    time: datetime


@dataclass(frozen=True, slots=True)
class KeyFingerprint:
    """A fingerprint of one of the keys that made the database (never the key itself):
    current while `retired_at` is None, kept after a rotation so the history stays visible."""

    name: str  # pseudonym | at-rest | log-signing | access-token
    fingerprint: str
    keys_folder: str  # where the instance that recorded it held the key (a path, no secret)
    recorded_at: datetime
    retired_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class OfficerLink:
    """A one-time sign-in link for a privacy officer, kept only as the hash of its token."""

    link_hash: str
    officer: str  # the privacy_officer partner id
    actor: str  # the person it was issued to
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class OfficerSession:
    """A signed-in privacy officer's browser session, kept only as the hash of its cookie."""

    session_hash: str
    officer: str
    actor: str
    created_at: datetime
    seen_at: datetime
    language: str  # nl | en


@dataclass(frozen=True, slots=True)
class ActivityCount:
    """How many log entries of one kind one partner caused on one (UTC) day."""

    day: date
    decision: str
    purpose: str | None
    partner: str | None  # the sender
    break_glass: bool
    count: int


@dataclass(frozen=True, slots=True)
class RefusalCount:
    """How often one partner was refused one purpose towards one recipient, for one reason."""

    partner: str | None  # the sender
    reason: str | None
    purpose: str | None
    recipient: str | None
    count: int


@dataclass(frozen=True, slots=True)
class RetentionTerms:
    """Which records a retention run removes: the moments before which each kind's term has
    passed (decided by `gateway.policy.retention`, applied in SQL)."""

    now: datetime  # consents whose retain_until lies at or before it; expired sign-in links
    # Closed expectations and reviewed break-glass records, per purpose: closed (reviewed) before.
    closed_before: Mapping[str, datetime]
    # The same for records of a purpose the catalogue no longer holds: its longest term.
    closed_before_otherwise: datetime
    sessions_seen_before: datetime  # officer sessions idle since before this
    # Cases (with their network and household) last active before this, none of whose
    # expectations is open.
    cases_inactive_before: datetime
    # Held birth dates recorded (or corrected) before this that no consent, household row or
    # open expectation of their subject needs any more.
    birth_dates_recorded_before: datetime
    batch: int = 1000  # at most this many records of each kind per run


class StorageUnusable(RuntimeError):
    """Storage that answers but cannot be this gateway's database: waiting will not help.

    A file that is not a SQLite database, a path that cannot be created or opened, a schema of
    another version. Storage that cannot be reached (yet) is StorageUnavailable instead.
    """


class SchemaVersionError(StorageUnusable):
    """The database's schema is not the one this gateway knows: newer, or older and unmigrated."""


def check_schema_version(found: int, known: int, where: str) -> None:
    """Refuse any schema but this code's own; an empty database (0) is for open() to create."""
    if found > known:
        raise SchemaVersionError(
            f"{where} has schema version {found}, newer than this gateway knows ({known}); "
            "run a newer gateway"
        )
    if 0 < found < known:
        raise SchemaVersionError(
            f"{where} has schema version {found}, older than this gateway's ({known}); "
            "run `gateway migrate` with the same --data/--storage first"
        )


class Lock(Protocol):
    """Who may sequence: held by one process of a deployment at a time."""

    async def acquire(self) -> bool: ...

    async def release(self) -> None: ...


class Lifecycle(Protocol):
    """Opening, migrating and closing the database, and what differs per back end beyond SQL."""

    async def open(self) -> None:
        """Connect; create the schema in an empty database; refuse any other version."""

    async def migrate(self) -> int:
        """Apply missing migrations (what `gateway migrate` does); return the version."""

    async def schema_version(self) -> int:
        """The version the database holds; 0 when empty."""

    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Raise if storage cannot be reached."""

    def sequencer_lock(self, data_folder: Path) -> Lock:
        """The lock that elects one sequencer among the processes sharing this storage."""

    async def server_now(self) -> datetime | None:
        """The database server's clock; None where storage shares this machine's clock."""


class LogIdentityStore(Protocol):
    """The log's identity: its origin and the keys that made it."""

    async def log_origin(self) -> str | None:
        """The origin recorded for the log's checkpoints; None before any is recorded."""

    async def claim_log_origin(self, origin: str) -> str:
        """Record `origin` unless one is recorded already; return the recorded one."""

    async def claim_key_fingerprints(
        self, fingerprints: Sequence[tuple[str, str]], keys_folder: str, now: datetime
    ) -> list[KeyFingerprint]:
        """Record each (name, fingerprint) as current where no fingerprint is current for that
        name, in one transaction; return every fingerprint recorded, current and retired."""

    async def rotate_key_fingerprints(
        self,
        current: Sequence[tuple[str, str]],
        retired: Sequence[tuple[str, str]],
        keys_folder: str,
        now: datetime,
    ) -> None:
        """Record `current` (name, fingerprint) pairs as the keys in use, retiring whichever was
        current under each name, and `retired` pairs as retired where not yet recorded."""


class LogStore(Protocol):
    """The disclosure log: appending entries durably, reading and searching them."""

    async def append_log(self, entries: Sequence[LogEntry]) -> list[int]:
        """Append entries durably; return their log indices (gap-free, in order)."""

    async def log_size(self) -> int: ...

    async def log_rows(self, start: int, end: int) -> list[LogRow]:
        """Entries with start <= index < end, in order."""

    async def search_log(
        self, flt: LogFilter, *, after: int | None, limit: int
    ) -> list[LogRow]: ...

    async def log_activity(
        self, since: datetime, until: datetime, *, parties: frozenset[str] | None = None
    ) -> list[ActivityCount]:
        """Entries with since <= time < until, counted per UTC day, decision, purpose, sender
        and break-glass; only entries whose sender or recipient is one of `parties` (if set)."""

    async def refusal_counts(
        self, since: datetime, until: datetime, *, parties: frozenset[str] | None = None
    ) -> list[RefusalCount]:
        """Refusals with since <= time < until, counted per sender, reason, purpose, recipient;
        only refusals whose sender or recipient is one of `parties` (if set)."""

    async def verify_batch(self, start: int, end: int) -> list[VerifyRow]:
        """The entries [start, end) in index order, each with its stored leaf hash, for the
        verifier. A leaf stored as anything but bytes comes back as its bytes, never an error."""


class ReplayCache(Protocol):
    """Client assertions' jti values seen, for replay protection."""

    async def use_jti(
        self, partner: str, jti: str, remember_until: datetime, now: datetime
    ) -> bool:
        """Remember a client assertion's jti; False when it was seen before (a replay).

        The jti is kept at least until `remember_until` (the assertion's exp plus the clock
        leeway, after which it is refused as expired anyway); pruning removes only rows whose
        `remember_until` lies before `now`, never one that could still be replayed.
        """


class ConsentStore(Protocol):
    """Consent records (sealed at rest)."""

    async def add_consent(self, consent: StoredConsent, entry: LogEntry) -> int: ...

    async def consents_for_subject(self, subject: str) -> list[StoredConsent]: ...

    async def get_consent(self, consent_id: str) -> StoredConsent | None: ...

    async def replace_consent(self, consent: StoredConsent, entry: LogEntry) -> int:
        """Store a changed consent (a withdrawal) together with its log entry."""


class BirthDateStore(Protocol):
    """One birth date per subject, sealed at rest."""

    async def held_birth_date(self, subject: str) -> bytes | None:
        """The sealed birth date held for this subject pseudonym, or None."""

    async def claim_birth_date(self, subject: str, sealed: bytes, now: datetime) -> bytes:
        """Hold ``sealed`` as the subject's birth date, recorded at ``now``, unless one is held;
        answer the one held.

        Atomic: of two concurrent claims, one wins and both answer the winner's.
        """

    async def correct_birth_date(self, subject: str, sealed: bytes, entry: LogEntry) -> int:
        """Replace (or set) the subject's birth date, recorded at the entry's time, together
        with its log entry."""


class CaseStore(Protocol):
    """Cases, their networks of partners and households."""

    async def open_case(self, case: Case, director: NetworkMember, entry: LogEntry) -> int:
        """Store a new case, its director's membership and the log entry; the entry's index."""

    async def get_case(self, case_id: str) -> Case | None: ...

    async def case_network(self, case_id: str) -> list[NetworkMember]: ...

    async def register_involvement(self, member: NetworkMember, entry: LogEntry) -> bool | None:
        """Insert or update a member together with its log entry; True when it was new. None
        (nothing changed) when the member's `care_column` has another casusregisseur."""

    async def remove_involvement(self, case_id: str, partner_id: str, entry: LogEntry) -> bool:
        """Remove a member together with its log entry; False (and nothing logged) if absent."""

    async def register_child(self, child: HouseholdChild, entry: LogEntry) -> bool:
        """Insert or update a child of a case's household with its log entry; True when new."""

    async def household(self, case_id: str) -> list[HouseholdChild]: ...

    async def case_events(self, case_id: str) -> list[CaseEvent]:
        """The case's closures and reopenings, oldest first."""

    async def hand_over(
        self, case_id: str, holder: str, to: NetworkMember, actor: str | None, entry: LogEntry
    ) -> int | None:
        """Move procesregie of an active case from `holder` to the member `to` (the same partner:
        only its acting professional changes), with the entry; the entry's index, or None (and
        nothing changed) when `holder` no longer holds it, the case is closed or `to` is no
        member."""

    async def direct_child(
        self, case_id: str, child_ref: str, directed_by: str | None, entry: LogEntry
    ) -> int | None:
        """Set who directs the help for a household child, with the entry; its index, or None
        (nothing changed) when the case holds no such child."""

    async def referral_sender(self, exchange_id: str, recipient: str) -> str | None:
        """The partner that sent `recipient` the exchange `exchange_id` (a disclosure in the
        log), or None when the log holds no such disclosure to `recipient`."""

    async def close_case(
        self,
        event: CaseEvent,
        entry: Callable[[Sequence[Expectation]], LogEntry],
    ) -> CaseClosure | None:
        """Close an active case: set its state, cancel its open expectations with the event's
        reason, record the event and append `entry(cancelled)`, in one transaction. None (and
        nothing changed) when the case is not active."""

    async def reopen_case(self, event: CaseEvent, entry: LogEntry) -> int | None:
        """Reopen a closed case with its event and log entry; the entry's index, or None (and
        nothing changed) when the case is not closed."""


class RelationStore(Protocol):
    """The facts that tie a partner to a subject (a pseudonym), for the relations purposes presume."""

    async def in_case_of(self, partner: str, subject: str) -> bool:
        """Whether the partner is in the network of a case whose household holds the subject."""

    async def received_from(
        self, partner: str, subject: str, purposes: Sequence[str], among: Sequence[str]
    ) -> frozenset[str]:
        """The partners of `among` whose message of one of `purposes` about the subject was
        disclosed to the partner, or that an expectation the partner owes about the subject
        (opened by such a message) is owed to; when none of `among` is, one other such partner
        (the fact holds, towards someone else). No purposes, or none found: empty."""

    async def sent_to(
        self, partner: str, subject: str, purposes: Sequence[str], among: Sequence[str]
    ) -> frozenset[str]:
        """The partners of `among` that the partner's own disclosed message of one of
        `purposes` about the subject went to; when none of `among`, one other such recipient.
        No purposes, or none found: empty."""

    async def case_fellows(self, partner: str, subject: str) -> frozenset[str]:
        """The members (the partner itself included) of the networks of the cases whose
        household holds the subject and whose network holds the partner; empty when none."""


class ExpectationStore(Protocol):
    """What partners owe each other (feedback, status reports) and by when."""

    async def add_expectations(self, expectations: Sequence[Expectation]) -> None: ...

    async def open_expectations(
        self, *, owed_by: str, owed_to: str | None = None, purpose: str | None = None
    ) -> list[Expectation]:
        """Open expectations a partner owes (optionally to one partner, for one purpose)."""

    async def expectations_for(
        self, partner: str, *, open_only: bool, limit: int
    ) -> list[Expectation]:
        """Expectations a partner owes or is owed, oldest deadline first."""

    async def mark_newly_overdue(
        self,
        now: datetime,
        limit: int,
        escalate: Callable[[Expectation], LogEntry | None] | None = None,
    ) -> list[Expectation]:
        """Overdue expectations not yet announced: mark them announced and queue notifications.

        `escalate` makes the log entry of a lapsed expectation that is escalated (an urgent
        message's unacknowledged receipt), appended in the same transaction; None for others.
        An escalated expectation's debtor is poked `urgent_message` again.
        """


class NotificationStore(Protocol):
    """Webhook pokes to partners; the inbox stays the source of truth."""

    async def claim_notifications(
        self, now: datetime, *, lease_s: float, limit: int
    ) -> list[PendingNotification]:
        """Take due notifications for delivery; an unfinished claim comes back after the lease."""

    async def finish_notification(self, partner: str, kind: str, created_at: datetime) -> None:
        """Delivered: remove it (unless a newer poke of the same kind arrived meanwhile)."""

    async def retry_notification(
        self, partner: str, kind: str, *, next_at: datetime, attempts: int
    ) -> None: ...

    async def inbox_count(self, recipient: str) -> int: ...


class OutboxStore(Protocol):
    """Deliveries towards outside logs (the LDV logbook, partners' Verwerkingenlogging)."""

    async def claim_log_feed(
        self, destination: str, now: datetime, *, lease_s: float, limit: int
    ) -> LogFeedBatch:
        """The next log entries not yet accepted by `destination`, leased to this caller (empty
        when none wait, the feed is leased elsewhere, or its retry time has not come)."""

    async def advance_log_feed(self, destination: str, start: int, end: int) -> bool:
        """`destination` accepted entries start..end-1: move its cursor (False if it moved)."""

    async def retry_log_feed(self, destination: str, next_at: datetime) -> None:
        """Delivery failed: count an attempt, release the lease, try again at `next_at`."""

    async def claim_outbox(
        self, destination: str, now: datetime, *, lease_s: float, limit: int
    ) -> list[OutboxRow]:
        """Due outbox rows of `destination`, oldest first, leased to this caller."""

    async def finish_outbox(self, seqs: Sequence[int]) -> None:
        """Accepted: delete the rows, and with them the sealed values they held."""

    async def retry_outbox(self, seqs: Sequence[int], next_at: datetime) -> None:
        """Not accepted: count an attempt, release the lease, try again at `next_at`."""

    async def drop_outbox(self, destination: str) -> int:
        """Delete every row of `destination` (its configuration was removed); return how many."""

    async def outbox_backlog(self) -> dict[str, int]:
        """Deliveries waiting, per destination (log-feed cursors included)."""


class BreakGlassStore(Protocol):
    """Break-glass disclosures and their reviews by a privacy officer."""

    async def break_glass_records(
        self, *, status: str | None, limit: int, senders: frozenset[str] | None = None
    ) -> list[BreakGlassRecord]:
        """Break-glass uses (of one status), oldest first; only those of `senders` (if set)."""

    async def review_break_glass(
        self,
        exchange_id: str,
        *,
        status: str,
        by: str,
        at: datetime,
        sealed_note: bytes,
        entry: LogEntry,
        senders: frozenset[str] | None = None,
    ) -> int | None:
        """Record a review of a break-glass disclosure with its log entry; None (and nothing
        changed) if absent, or if `senders` is set and the use is not of one of them."""


class OfficerSessionStore(Protocol):
    """Privacy officers' sign-in links and sessions."""

    async def add_officer_link(self, link: OfficerLink, entry: LogEntry, now: datetime) -> int:
        """Keep a new sign-in link and log its issue; links expired before `now` are dropped."""

    async def take_officer_link(self, link_hash: str, now: datetime) -> OfficerLink | None:
        """Remove a link and return it if it had not expired: of any number of concurrent
        takers on any instance, exactly one gets it."""

    async def start_officer_session(
        self, session: OfficerSession, entry: LogEntry, idle_before: datetime
    ) -> int:
        """Keep a new session and log the sign-in; sessions unseen since `idle_before` go."""

    async def officer_session(self, session_hash: str) -> OfficerSession | None: ...

    async def touch_officer_session(
        self, session_hash: str, seen_at: datetime, language: str
    ) -> None:
        """Record that a session was used (and in which language)."""

    async def end_officer_session(self, session_hash: str, entry: LogEntry) -> int | None:
        """Revoke a session and log the sign-out; None (and nothing logged) when it is gone."""


class ExchangeStore(Protocol):
    """Exchanges as one atomic write, and the recipients' inboxes."""

    async def record_exchange(
        self,
        entries: Sequence[LogEntry],
        messages: Sequence[StoredMessage],
        effects: ExchangeEffects | None = None,
        outbox: Sequence[OutboxItem] = (),
    ) -> list[int]:
        """Durably log an exchange's entries, queue its messages and outbox deliveries and apply
        its effects, atomically."""

    async def inbox_page(
        self, recipient: str, *, after: int, limit: int
    ) -> list[StoredMessage]: ...

    async def lease_inbox(
        self,
        recipient: str,
        *,
        limit: int,
        now: datetime,
        until: datetime,
        urgent_first: bool = False,
    ) -> list[StoredMessage]:
        """Take up to `limit` unleased messages, oldest first (with `urgent_first`, the urgent
        ones before the rest), hiding them from other leased pulls until `until` (or their ack):
        two concurrent pullers never get the same message."""

    async def urgent_inbox(self, recipient: str, *, limit: int) -> list[StoredMessage]:
        """The recipient's waiting urgent messages (unacknowledged receipt owed), oldest first."""

    async def ack_message(
        self, recipient: str, message_id: str, make_entry: Callable[[StoredMessage], LogEntry]
    ) -> int | None:
        """Remove an acknowledged message and log its receipt; None when it is not there.

        Acknowledging an urgent message also closes the receipt its recipient owed for it.
        """

    async def purge_expired(
        self, now: datetime, make_entry: Callable[[StoredMessage], LogEntry]
    ) -> int:
        """Remove messages past retain_until, logging each purge; return how many."""


class SubjectLinkStore(Protocol):
    """The link from a subject (its link key, an HMAC) to the random pseudonym the gateway's
    records carry; erasing it makes those records unreachable from the person for good."""

    async def linked_pseudonym(self, link_key: str, legacy: str) -> str | None:
        """The pseudonym linked to `link_key`; else `legacy` when it is a pseudonym in use
        before links existed and not erased; else None. Changes nothing."""

    async def link_subject(
        self,
        link_key: str,
        legacy: Callable[[], str],
        fresh: Callable[[], str],
        now: datetime,
    ) -> str:
        """The pseudonym linked to `link_key`, linking one first when there is none: `legacy()`
        when it is a pseudonym in use before links existed, else `fresh()` (each made only when
        no link exists: every exchange asks, and nearly always the link is there). Atomic:
        concurrent first uses, on any instance, all answer the one pseudonym that was linked."""

    async def erase_subject_link(self, link_key: str, legacy: str, entry: LogEntry) -> int | None:
        """Remove the subject's link (and its pre-link pseudonym from the legacy list) with the
        erasure's log entry; the entry's index, or None (nothing logged) when neither exists."""


class RetentionStore(Protocol):
    """Removing records whose retention has passed."""

    async def consents_without_term(self, limit: int) -> list[StoredConsent]:
        """Consents whose retention end is not known yet (recorded before schema 9)."""

    async def set_consent_terms(self, terms: Sequence[tuple[str, datetime | None]]) -> None:
        """Record (consent id, retain_until) for consents whose term was not known; a consent
        changed meanwhile (its term then known) keeps the term its change set."""

    async def remove_expired_records(
        self, terms: RetentionTerms, make_entry: Callable[[str, int], LogEntry]
    ) -> dict[str, int]:
        """Remove, in one transaction, what `terms` says has passed, logging one entry per kind
        with a removal (`make_entry(kind, count)`); return the counts per kind."""


class TreeStore(Protocol):
    """The Merkle tree's stored nodes and signed checkpoints (the sequencer's)."""

    async def tree_nodes(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]: ...

    async def store_tree(
        self, nodes: Sequence[tuple[int, int, bytes]], checkpoint: StoredCheckpoint | None
    ) -> None:
        """Store newly completed subtree hashes and, optionally, a signed checkpoint."""

    async def latest_checkpoint(self) -> StoredCheckpoint | None: ...

    async def checkpoints(self) -> list[StoredCheckpoint]: ...


class TransparencyLog(LogStore, TreeStore, Protocol):
    """The log's entries and its tree together: what the sequencer and the verifier read."""


class Storage(
    Lifecycle,
    LogIdentityStore,
    LogStore,
    ReplayCache,
    ConsentStore,
    BirthDateStore,
    CaseStore,
    RelationStore,
    ExpectationStore,
    NotificationStore,
    OutboxStore,
    BreakGlassStore,
    OfficerSessionStore,
    ExchangeStore,
    TreeStore,
    SubjectLinkStore,
    RetentionStore,
    Protocol,
):
    """Everything the gateway keeps: the union of the role protocols above, which consumers ask
    for one by one. Every write returns only once it is durable."""
