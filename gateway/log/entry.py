"""One disclosure-log entry and its canonical bytes (the exact bytes hashed as a Merkle leaf).

Canonical form (docs/log-format.md): UTF-8 JSON of the entry object, keys sorted by code point at
every level, no insignificant whitespace, non-ASCII escaped as \\u plus four hex digits, integers only (no floats).
The entry never holds a payload value or a BSN: subjects appear as pseudonyms, payloads as the
names of their fields and a salted SHA-256.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = ["DECISIONS", "LogEntry", "Sender", "format_time", "parse_time"]

FORMAT_VERSION = 1

DECISIONS = frozenset(
    {
        "disclosed",
        "refused",
        "delivered",
        "purged",
        "consent_recorded",
        "consent_withdrawn",
        "birth_date_corrected",
        "token_issued",
        "token_refused",
        "audit_access",
        "partners_reloaded",
        "break_glass_reviewed",
        "partners_reload_failed",
        "officer_link_issued",
        "officer_signed_in",
        "officer_signed_out",
        # Case networks: who opened a case, who added, changed or removed which member.
        "case_opened",
        "case_member_added",
        "case_member_changed",
        "case_member_removed",
        # A case's life (reason: the coded reason): closed by its director, cancelling the case's
        # open expectations (details: their count and ids), and reopened.
        "case_closed",
        "case_reopened",
        # Roles in a case: procesregie handed over by its holder (recipient: the new holder, or
        # the holder itself when only its acting professional changes), and who directs the help
        # for a household child under a measure (subject: the child's pseudonym; recipient: the
        # certified institution, none when the direction returns to the procesregisseur).
        "procesregie_handed_over",
        "child_direction_set",
        # A child registered in a case's household (subject: its pseudonym).
        "household_child_registered",
        # An urgent message not acknowledged within its purpose's term (sender: who sent it,
        # recipient: who did not acknowledge it; details: the receipt's expectation id and term).
        "urgent_escalated",
        # Retention and erasure (docs/retention.md): records removed at the end of their term
        # (a count per kind per run), and an officer's erasure of a subject's link.
        "records_removed",
        "subject_link_erased",
    }
)


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with milliseconds, e.g. 2026-11-25T10:00:00.123Z."""
    # isoformat truncates to milliseconds (as microsecond // 1000 would) and ends in "+00:00".
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass(frozen=True, slots=True)
class Sender:
    """Who acted: the partner and its professional (pseudonymous actor id and role)."""

    partner: str
    actor: str | None
    role: str | None

    def to_json(self) -> dict[str, str | None]:
        return {"partner": self.partner, "actor": self.actor, "role": self.role}


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One decision, delivery, consent change or purge, as the log records it."""

    time: datetime
    decision: str
    reason: str | None = None
    exchange_id: str | None = None
    disclosure_id: str | None = None
    purpose: str | None = None
    legal_basis: Mapping[str, str] | None = None
    consent_id: str | None = None
    sender: Sender | None = None
    recipient: str | None = None
    subject: str | None = None
    case_id: str | None = None
    fields: tuple[str, ...] = ()
    payload_sha256: str | None = None
    break_glass: bool = False
    details: Mapping[str, Any] = field(default_factory=dict)
    # Added after format 1 was in use: only entries that have them carry these keys, so the
    # leaves of older entries keep their exact bytes and still verify.
    trace: Mapping[str, str] | None = None  # W3C trace_id, span_id, parent_span_id, FSC id
    processing_activity: str | None = None  # URI into the register of processing activities
    confidentiality: str | None = None  # normaal | vertrouwelijk
    # The identifier system of a subject without a BSN; absent for a BSN (and on older entries).
    subject_system: str | None = None

    def __post_init__(self) -> None:
        if self.decision not in DECISIONS:
            raise ValueError(f"unknown decision {self.decision!r}")
        if self.time.tzinfo is None:
            raise ValueError("log entry time must be timezone-aware")

    def to_json(self) -> dict[str, Any]:
        """The entry as an object: what the leaf holds and what the audit API shows."""
        out: dict[str, Any] = {
            "v": FORMAT_VERSION,
            "time": format_time(self.time),
            "decision": self.decision,
            "reason": self.reason,
            "exchange_id": self.exchange_id,
            "disclosure_id": self.disclosure_id,
            "purpose": self.purpose,
            "legal_basis": None if self.legal_basis is None else dict(self.legal_basis),
            "consent_id": self.consent_id,
            "sender": None if self.sender is None else self.sender.to_json(),
            "recipient": self.recipient,
            "subject": self.subject,
            "case_id": self.case_id,
            "fields": list(self.fields),
            "payload_sha256": self.payload_sha256,
            "break_glass": self.break_glass,
            "details": dict(self.details),
        }
        if self.trace is not None:
            out["trace"] = dict(self.trace)
        if self.processing_activity is not None:
            out["processing_activity"] = self.processing_activity
        if self.confidentiality is not None:
            out["confidentiality"] = self.confidentiality
        if self.subject_system is not None:
            out["subject_system"] = self.subject_system
        return out

    def canonical(self) -> bytes:
        """The exact bytes hashed as this entry's Merkle leaf."""
        return canonical_json(self.to_json())

    @classmethod
    def from_canonical(cls, data: bytes) -> LogEntry:
        obj = json.loads(data)
        sender = obj.get("sender")
        return cls(
            time=parse_time(obj["time"]),
            decision=obj["decision"],
            reason=obj.get("reason"),
            exchange_id=obj.get("exchange_id"),
            disclosure_id=obj.get("disclosure_id"),
            purpose=obj.get("purpose"),
            legal_basis=obj.get("legal_basis"),
            consent_id=obj.get("consent_id"),
            sender=None
            if sender is None
            else Sender(sender["partner"], sender["actor"], sender["role"]),
            recipient=obj.get("recipient"),
            subject=obj.get("subject"),
            case_id=obj.get("case_id"),
            fields=tuple(obj.get("fields") or ()),
            payload_sha256=obj.get("payload_sha256"),
            break_glass=bool(obj.get("break_glass")),
            details=obj.get("details") or {},
            trace=obj.get("trace"),
            processing_activity=obj.get("processing_activity"),
            confidentiality=obj.get("confidentiality"),
            subject_system=obj.get("subject_system"),
        )


# What json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True) builds anew on
# every call; made once, since every exchange encodes its entries and its payload digest with it.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no whitespace, ASCII: one byte string per value, reproducible anywhere."""
    return _CANONICAL.encode(value).encode("ascii")
