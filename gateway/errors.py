"""The gateway's one error family: every refusal the contract names, with its HTTP status.

GatewayError (code, status, message, how_to_fix, extra fields)
├── InvalidRequest          invalid_request          400
├── InvalidSubject          invalid_subject          400
├── InvalidToken            invalid_token            401  (terse on purpose)
├── Forbidden               forbidden                403
├── UnknownPurpose          unknown_purpose          403
├── SenderNotAllowed        sender_not_allowed       403
├── RecipientNotAllowed     recipient_not_allowed    403
├── ConsentRequired         consent_required         403  (+ missing_consent)
├── BreakGlassNotAllowed    break_glass_not_allowed  403
├── RelationRequired        relation_required        403  (+ missing_relation)
├── ConsentScopeNotAllowed  consent_scope_not_allowed 403
├── CaseCloseNotAllowed     case_close_not_allowed   403  (closing or reopening, not the director)
├── UnknownRecipient        unknown_recipient        404
│   └── UnknownCaseNetwork                           404  (a case network the caller is not in)
├── NotFound                not_found                404
│   └── UnknownCase                                  404  (a case the caller is not a member of)
├── RequestTimeout          request_timeout          408  (also a TimeoutError)
├── CaseClosed              case_closed              409  (closed: reopen it first)
├── CaseNotClosed           case_not_closed          409  (reopening a case that is active)
├── ProcesregieConflict     procesregie_conflict     409  (would leave two procesregisseurs or none)
├── CasusregieConflict      casusregie_conflict      409  (a second casusregisseur in one column)
├── PayloadTooLarge         payload_too_large        413
├── SchemaViolation         schema_violation         422  (+ violations)
├── PayloadNotMinimal       payload_not_minimal      422  (+ violations)
├── ConsentInvalid          consent_invalid          422
├── BirthDateMismatch       birth_date_mismatch      422
├── RateLimited             rate_limited             429  (+ Retry-After)
└── StorageUnavailable      storage_unavailable      503  (+ Retry-After)

A refusal the policy decides without raising (one recipient of a fan-out, say) is a `Refusal`
value: the error it stands for, with its message and how to fix it; `to_error()` gives the
exception where a caller needs one to raise.

Token endpoint failures are not part of this family: RFC 6749 prescribes their shape
(`{"error": "invalid_client", ...}`), see `gateway.auth`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

__all__ = [
    "BirthDateMismatch",
    "BreakGlassNotAllowed",
    "CaseCloseNotAllowed",
    "CaseClosed",
    "CaseNotClosed",
    "CasusregieConflict",
    "ConsentInvalid",
    "ConsentRequired",
    "ConsentScopeNotAllowed",
    "Forbidden",
    "GatewayError",
    "InvalidRequest",
    "InvalidSubject",
    "InvalidToken",
    "NotFound",
    "PayloadNotMinimal",
    "PayloadTooLarge",
    "ProcesregieConflict",
    "RateLimited",
    "RecipientNotAllowed",
    "Refusal",
    "RelationRequired",
    "RequestTimeout",
    "SchemaViolation",
    "SenderNotAllowed",
    "StorageUnavailable",
    "UnknownCase",
    "UnknownCaseNetwork",
    "UnknownPurpose",
    "UnknownRecipient",
]


class GatewayError(Exception):
    """A refusal in the contract's shape: a stable code, an HTTP status, and how to fix it."""

    code: ClassVar[str] = "internal_error"
    status: ClassVar[int] = 500
    default_how_to_fix: ClassVar[str] = ""

    def __init__(self, message: str, how_to_fix: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.how_to_fix = how_to_fix if how_to_fix is not None else self.default_how_to_fix
        self.extra: dict[str, Any] = extra

    def to_body(self) -> dict[str, Any]:
        """The contract's error object: `{"error": {code, message, how_to_fix, ...}}`."""
        error: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "how_to_fix": self.how_to_fix,
        }
        error.update(self.extra)
        return {"error": error}


class InvalidRequest(GatewayError):
    code = "invalid_request"
    status = 400
    default_how_to_fix = "Send a JSON object with the fields the API documentation lists."


class InvalidSubject(GatewayError):
    code = "invalid_subject"
    status = 400
    default_how_to_fix = "Give the subject's BSN as 9 digits that pass the elfproef."


class InvalidToken(GatewayError):
    code = "invalid_token"
    status = 401
    default_how_to_fix = "Get a new access token at POST /v1/token and send it as 'Bearer'."


class Forbidden(GatewayError):
    code = "forbidden"
    status = 403


class UnknownPurpose(GatewayError):
    code = "unknown_purpose"
    status = 403
    default_how_to_fix = "Use a purpose id from the catalogue (GET /v1/purposes lists them)."


class SenderNotAllowed(GatewayError):
    code = "sender_not_allowed"
    status = 403


class RecipientNotAllowed(GatewayError):
    code = "recipient_not_allowed"
    status = 403


class ConsentRequired(GatewayError):
    code = "consent_required"
    status = 403


class BreakGlassNotAllowed(GatewayError):
    code = "break_glass_not_allowed"
    status = 403


class RelationRequired(GatewayError):
    """The purpose presumes the sender helps this subject, and no relation of the sender shows it."""

    code = "relation_required"
    status = 403


class ConsentScopeNotAllowed(GatewayError):
    """A consent names senders, recipients or purposes the recording partner may not record for."""

    code = "consent_scope_not_allowed"
    status = 403


class UnknownRecipient(GatewayError):
    code = "unknown_recipient"
    status = 404


class NotFound(GatewayError):
    code = "not_found"
    status = 404
    default_how_to_fix = "Check the identifiers in the path (GET /v1/openapi.json lists the paths)."


# A case id the caller is not a member of reads the same as one that does not exist, and being
# the caller's own text it is kept out of the log entry of the refusal.


class UnknownCaseNetwork(UnknownRecipient):
    """`to: {"case_network": id}` names no case network the caller is a member of."""

    def __init__(self) -> None:
        super().__init__(
            "no case network you are a member of has this id",
            "Check the case id, or send to the partners you know by their ids.",
        )


class UnknownCase(NotFound):
    """An exchange's `case_id` names no case the caller is a member of."""

    def __init__(self) -> None:
        super().__init__(
            "no case you are a member of has this case_id",
            "Send the case id the case's social team gave you when it registered your "
            "organisation in the case (GET /v1/cases/{case_id}/network), or leave case_id out.",
        )


class CaseCloseNotAllowed(GatewayError):
    """A member that does not direct the case tried to close or reopen it."""

    code = "case_close_not_allowed"
    status = 403


class CaseClosed(GatewayError):
    """The case is closed: nothing is added to it, and it is not closed twice."""

    code = "case_closed"
    status = 409


class CaseNotClosed(GatewayError):
    """Reopening a case that is not closed."""

    code = "case_not_closed"
    status = 409


class ProcesregieConflict(GatewayError):
    """A change that would leave a case with two procesregisseurs, or with none."""

    code = "procesregie_conflict"
    status = 409


class CasusregieConflict(GatewayError):
    """A second casusregisseur for a column (youth, wmo, income) that has one."""

    code = "casusregie_conflict"
    status = 409


class RequestTimeout(GatewayError, TimeoutError):
    """The request's head or body did not arrive within `read_timeout_s` (a trickling client).

    Also a TimeoutError, so that aiohttp, draining an unread body after the answer, treats it as
    the end of waiting and closes the connection instead of reporting an unhandled exception.
    """

    code = "request_timeout"
    status = 408
    default_how_to_fix = "Send the whole request at once, without pauses between its parts."


class PayloadTooLarge(GatewayError):
    code = "payload_too_large"
    status = 413
    default_how_to_fix = "Send a smaller body; minimal datasets are small by design."


class SchemaViolation(GatewayError):
    code = "schema_violation"
    status = 422


class PayloadNotMinimal(GatewayError):
    code = "payload_not_minimal"
    status = 422


class ConsentInvalid(GatewayError):
    code = "consent_invalid"
    status = 422


class BirthDateMismatch(GatewayError):
    """A consent's birth date contradicts the one the gateway holds for the subject."""

    code = "birth_date_mismatch"
    status = 422


class RateLimited(GatewayError):
    code = "rate_limited"
    status = 429


class StorageUnavailable(GatewayError):
    code = "storage_unavailable"
    status = 503
    default_how_to_fix = "Retry after the number of seconds in Retry-After."


@dataclass(frozen=True, slots=True)
class Refusal:
    """A refusal as a value: which error of the family it is, what it says and how to fix it.

    `error` is a class taking the family's own arguments (message, how_to_fix, extra fields);
    the no-argument refusals about cases are raised where they arise, never carried as values.
    """

    error: type[GatewayError]
    message: str
    how_to_fix: str
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def code(self) -> str:
        return self.error.code

    @property
    def status(self) -> int:
        return self.error.status

    def to_error(self) -> GatewayError:
        """The exception to raise for this refusal, saying exactly what the value says."""
        return self.error(self.message, self.how_to_fix, **self.extra)

    def to_body(self) -> dict[str, Any]:
        """The contract's error object, as `GatewayError.to_body` answers it."""
        return self.to_error().to_body()
