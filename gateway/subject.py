"""The person a message is about: a BSN or a declared identifier at the API edge, a keyed
pseudonym everywhere else.

A subject is given as `{"bsn": "..."}` or, for a person without a BSN (a pupil known by an
onderwijsnummer, or an identifier the partners agreed on locally), as
`{"identifier": {"system": "<URI>", "value": "..."}}` where the system is declared in the
catalogue (`[[identifier_system]]` in `purposes.toml`) with the format its values must have.

Pseudonyms are HMAC-SHA256 under the gateway's secret over a domain-separated input:
`"bsn:" + bsn` for a BSN (unchanged since the first version: stored data depends on it) and
`"id:" + system + 0x00 + value` for an identifier. The prefixes differ in their first byte and
a system never holds 0x00, so no two subjects share an input: the same value under two systems,
or a value that is also a BSN, gives different pseudonyms.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

from gateway.errors import InvalidRequest, InvalidSubject

__all__ = [
    "CHECKS",
    "MAX_IDENTIFIER_VALUE",
    "RESERVED_SYSTEMS",
    "SYSTEM_SHAPE",
    "IdentifierSystem",
    "Pseudonymiser",
    "Subject",
    "SubjectKind",
    "looks_like_bsn",
    "parse_subject",
    "parse_subject_query",
    "passes_onderwijsnummer_check",
    "pseudonym_input",
    "require_accepted",
    "validate_bsn",
]

SubjectKind = Literal["bsn", "identifier"]

_NINE_DIGITS: Final = re.compile(r"[0-9]{9}")  # used with fullmatch: no "\n" slips past $
# A declared system is an absolute URI of printable ASCII (no spaces, never 0x00), short enough
# for VNG Verwerkingenlogging's `soortObjectId` (242 characters).
SYSTEM_SHAPE: Final = re.compile(r"^(?:urn:[A-Za-z0-9][A-Za-z0-9-]{0,31}:|https?://)[!-~]{1,200}$")
# The BSN has its own form, `{"bsn": ...}`: it cannot be declared again as an identifier system.
RESERVED_SYSTEMS: Final = frozenset(
    {
        "bsn",
        "http://fhir.nl/fhir/NamingSystem/bsn",
        "urn:oid:2.16.840.1.113883.2.4.6.3",
    }
)
# Bounds the work a pattern does on what a caller sends; also VNG Verwerkingenlogging's limit
# on an `objectId`, so a partner's own processing log can always record the value.
MAX_IDENTIFIER_VALUE: Final = 40
_NINE_DIGIT_RUN: Final = re.compile(r"\d{9}")
_LONG_DIGIT_RUN: Final = re.compile(r"[0-9]{8,}")
# Digits joined by single separators, the way a number is written to be read: 999-99-2351.
_DIGIT_GROUP: Final = re.compile(r"[0-9](?:[ ._:/@-]?[0-9])*")


def _elfproef_remainder(digits: str) -> int:
    """9*d1 + 8*d2 + ... + 2*d8 - 1*d9, modulo 11: the BSN's elfproef sum."""
    d = digits.encode("ascii")  # nine ASCII digits, checked by the caller; b"0" is 48
    total = (
        (9 * d[0] + 8 * d[1] + 7 * d[2] + 6 * d[3] + 5 * d[4] + 4 * d[5] + 3 * d[6] + 2 * d[7])
        - d[8]
        - 43 * 48
    )  # the weights sum to 44 - 1 = 43: take the 48s of the digits back out
    return total % 11


def looks_like_bsn(text: str) -> bool:
    """Whether caller-chosen text could carry a BSN: a run of 8 or more digits, or, once the
    single separators between digits are taken out (999-99-2351), nine digits in a row that pass
    the elfproef.

    Used on ids that a caller chooses and the log keeps (actor ids), so that no BSN reaches the
    log through them; it refuses more than BSNs (any 8-digit number) on purpose.
    """
    if _LONG_DIGIT_RUN.search(text):
        return True
    for group in _DIGIT_GROUP.finditer(text):
        digits = "".join(char for char in group.group() if "0" <= char <= "9")
        for start in range(len(digits) - 8):
            if _elfproef_remainder(digits[start : start + 9]) == 0:
                return True
    return False


def validate_bsn(value: object) -> str:
    """Return the BSN when it is 9 digits passing the elfproef; raise InvalidSubject otherwise.

    The elfproef: 9*d1 + 8*d2 + ... + 2*d8 - 1*d9 must be divisible by 11 (and not all zeros).
    The message never repeats the value: an error message must not carry a BSN.
    """
    if not isinstance(value, str) or not _NINE_DIGITS.fullmatch(value):
        raise InvalidSubject("subject.bsn must be a string of exactly 9 digits")
    if _elfproef_remainder(value) != 0 or value == "000000000":
        raise InvalidSubject("subject.bsn fails the elfproef (the BSN check digit test)")
    return value


def passes_onderwijsnummer_check(value: str) -> bool:
    """Whether a value is a well-formed onderwijsnummer (DUO's number for a pupil without a BSN).

    Nine digits starting with "10", whose elfproef sum (weights 9..2 and -1, as for the BSN)
    leaves remainder 5 modulo 11 instead of 0; the rule python-stdnum's `stdnum.nl.onderwijsnummer`
    implements, after nl.wikipedia.org/wiki/Onderwijsnummer.
    """
    return (
        _NINE_DIGITS.fullmatch(value) is not None
        and value.startswith("10")
        and _elfproef_remainder(value) == 5
    )


# The check digit tests a catalogue may name in an identifier system's `check`.
CHECKS: Final[Mapping[str, Callable[[str], bool]]] = {
    "onderwijsnummer": passes_onderwijsnummer_check,
}


@dataclass(frozen=True, slots=True)
class IdentifierSystem:
    """A non-BSN identifier system the catalogue declares, with the format its values have."""

    system: str
    title: Mapping[str, str]
    pattern: re.Pattern[str]
    check: str | None = None
    purposes: frozenset[str] | None = None  # None: every purpose accepts it

    def accepts(self, purpose: str) -> bool:
        return self.purposes is None or purpose in self.purposes

    def to_json(self) -> dict[str, object]:
        """The system as `GET /v1/purposes` lists it: what a caller may send and in what form."""
        return {
            "system": self.system,
            "title": dict(self.title),
            "pattern": self.pattern.pattern,
            "check": self.check,
            "purposes": None if self.purposes is None else sorted(self.purposes),
        }

    def validate(self, value: object) -> str:
        """Return the value when it has this system's format; never repeat it in the error."""
        name = f"{self.title.get('en', self.system)} ({self.system})"
        fix = f"Give the value as {name} prescribes: it must match {self.pattern.pattern}" + (
            f" and pass the {self.check} check digit test." if self.check else "."
        )
        if not isinstance(value, str):
            raise InvalidSubject("subject.identifier.value must be a string", fix)
        if len(value) > MAX_IDENTIFIER_VALUE or self.pattern.fullmatch(value) is None:
            raise InvalidSubject(f"subject.identifier.value is not a valid {name}", fix)
        if self.check is not None and not CHECKS[self.check](value):
            raise InvalidSubject(
                f"subject.identifier.value fails the {self.check} check digit test", fix
            )
        return value


@dataclass(frozen=True, slots=True)
class Subject:
    """The person a message is about, as the sender named them (validated)."""

    kind: SubjectKind
    # Kept out of repr so a subject printed into a log line or a traceback carries no number.
    value: str = field(repr=False)
    system: str | None = None  # the identifier system; None for a BSN

    def __post_init__(self) -> None:
        if (self.kind == "bsn") != (self.system is None):
            raise ValueError("a BSN subject has no system; an identifier subject needs one")

    @classmethod
    def from_json(cls, obj: object) -> Subject:
        """A subject stored in the API's form by the gateway itself (validated when it came in).

        Raises ValueError for anything else; the catalogue is not consulted, since a system
        retired after the fact still named the person correctly at the time.
        """
        if isinstance(obj, Mapping) and set(obj) == {"bsn"} and isinstance(obj["bsn"], str):
            return cls("bsn", obj["bsn"])
        identifier = obj.get("identifier") if isinstance(obj, Mapping) and len(obj) == 1 else None
        if (
            isinstance(identifier, Mapping)
            and set(identifier) == {"system", "value"}
            and isinstance(identifier["system"], str)
            and isinstance(identifier["value"], str)
        ):
            return cls("identifier", identifier["value"], identifier["system"])
        raise ValueError("not a subject in the API's form")

    @property
    def id_type(self) -> str:
        """Which kind of number the subject's pseudonym stands for: `bsn`, or the system URI."""
        return "bsn" if self.system is None else self.system

    def to_json(self) -> dict[str, object]:
        """The subject in the form the API takes it (what a recipient receives, sealed)."""
        if self.system is None:
            return {"bsn": self.value}
        return {"identifier": {"system": self.system, "value": self.value}}


def pseudonym_input(subject: Subject) -> bytes:
    """The bytes a subject's pseudonym is the HMAC of (domain-separated, see the module doc)."""
    if subject.system is None:
        return b"bsn:" + subject.value.encode("ascii")
    return b"id:" + subject.system.encode("utf-8") + b"\x00" + subject.value.encode("utf-8")


class Pseudonymiser:
    """Turns a subject into a stable pseudonym with a gateway secret (HMAC-SHA256), never reversible."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("pseudonym key must be at least 32 bytes")
        self._key = key

    def pseudonym(self, bsn: str) -> str:
        """The pseudonym of the person with this BSN: hex HMAC-SHA256 over a domain-separated BSN."""
        return hmac.digest(self._key, b"bsn:" + bsn.encode("ascii"), "sha256").hex()

    def pseudonym_of(self, subject: Subject) -> str:
        """The subject's HMAC pseudonym; for a BSN exactly `pseudonym(bsn)`.

        Since schema 9 only the pseudonym of records written before it (and the key to tell
        whether a subject has such records): new records carry a random pseudonym reached
        through `link_key` (`gateway.store.links`), which erasure can remove for good.
        """
        return hmac.digest(self._key, pseudonym_input(subject), "sha256").hex()

    def link_key(self, subject: Subject) -> str:
        """The key under which the subject's random pseudonym is linked: an HMAC of the subject
        under its own domain, so it never equals a pseudonym any record carries."""
        return hmac.digest(self._key, b"link:" + pseudonym_input(subject), "sha256").hex()


def _accepted_hint(systems: Mapping[str, IdentifierSystem]) -> str:
    if not systems:
        return 'This gateway accepts a subject only as {"bsn": "<9 digits>"}.'
    return (
        'Give {"bsn": "<9 digits>"}, or {"identifier": {"system", "value"}} with one of the '
        f"identifier systems of the catalogue: {', '.join(sorted(systems))}."
    )


def _safe_system(system: str) -> bool:
    """Whether a caller's system may be named in an error: URI-shaped, no BSN-like number."""
    return SYSTEM_SHAPE.fullmatch(system) is not None and _NINE_DIGIT_RUN.search(system) is None


def parse_subject(
    obj: object, systems: Mapping[str, IdentifierSystem], *, where: str = "subject"
) -> Subject:
    """Validate `{"bsn": ...}` or `{"identifier": {"system", "value"}}`, exactly, into a Subject.

    A wrong shape raises InvalidRequest; an unknown system or a value that fails its system's
    format raises InvalidSubject. No message ever repeats a BSN or an identifier value.
    """
    shape = (
        f"'{where}' must be an object with exactly one field: 'bsn', or 'identifier' "
        '(an object {"system", "value"})'
    )
    if not isinstance(obj, Mapping) or set(obj) not in ({"bsn"}, {"identifier"}):
        raise InvalidRequest(shape, _accepted_hint(systems))
    if "bsn" in obj:
        return Subject("bsn", validate_bsn(obj["bsn"]))
    identifier = obj["identifier"]
    if not isinstance(identifier, Mapping) or set(identifier) != {"system", "value"}:
        raise InvalidRequest(
            f"'{where}.identifier' must be an object with exactly 'system' and 'value'",
            _accepted_hint(systems),
        )
    system = identifier["system"]
    declared = systems.get(system) if isinstance(system, str) else None
    if declared is None:
        named = f"'{system}' " if isinstance(system, str) and _safe_system(system) else ""
        raise InvalidSubject(
            f"{where}.identifier.system {named}is not an identifier system of this gateway",
            _accepted_hint(systems),
            accepted_systems=sorted(systems),
        )
    return Subject("identifier", declared.validate(identifier["value"]), declared.system)


def parse_subject_query(
    query: Mapping[str, str], systems: Mapping[str, IdentifierSystem]
) -> Subject | None:
    """The subject a query string names: `bsn`, or `identifier_system` with `identifier_value`.

    None when it names none; InvalidRequest when it mixes them or gives half an identifier.
    """
    bsn = query.get("bsn") or None
    system = query.get("identifier_system") or None
    value = query.get("identifier_value") or None
    if bsn is not None and (system is not None or value is not None):
        raise InvalidRequest(
            "give either 'bsn' or 'identifier_system' with 'identifier_value', not both"
        )
    if bsn is not None:
        return Subject("bsn", validate_bsn(bsn))
    if system is None and value is None:
        return None
    if system is None or value is None:
        raise InvalidRequest(
            "'identifier_system' and 'identifier_value' go together", _accepted_hint(systems)
        )
    return parse_subject({"identifier": {"system": system, "value": value}}, systems)


def require_accepted(
    subject: Subject, purposes: Collection[str], systems: Mapping[str, IdentifierSystem]
) -> None:
    """Refuse an identifier subject whose system the catalogue does not accept for a purpose."""
    if subject.system is None:
        return
    declared = systems[subject.system]
    refused = sorted(p for p in purposes if not declared.accepts(p))
    if refused:
        accepted = sorted(declared.purposes or ())
        raise InvalidSubject(
            f"identifier system '{subject.system}' is not accepted for purpose(s) "
            f"{', '.join(refused)}",
            f"The catalogue accepts it for: {', '.join(accepted)}. Identify the person by BSN "
            "for other purposes.",
        )
