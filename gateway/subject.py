"""The person a message is about: a BSN at the API edge, a keyed pseudonym everywhere else."""

from __future__ import annotations

import hashlib
import hmac
import re

from gateway.errors import InvalidSubject

__all__ = ["Pseudonymiser", "validate_bsn"]

_NINE_DIGITS = re.compile(r"^[0-9]{9}$")


def validate_bsn(value: object) -> str:
    """Return the BSN when it is 9 digits passing the elfproef; raise InvalidSubject otherwise.

    The elfproef: 9*d1 + 8*d2 + ... + 2*d8 - 1*d9 must be divisible by 11 (and not all zeros).
    The message never repeats the value: an error message must not carry a BSN.
    """
    if not isinstance(value, str) or not _NINE_DIGITS.match(value):
        raise InvalidSubject("subject.bsn must be a string of exactly 9 digits")
    digits = [int(c) for c in value]
    total = sum(d * w for d, w in zip(digits[:8], range(9, 1, -1), strict=True)) - digits[8]
    if total % 11 != 0 or value == "000000000":
        raise InvalidSubject("subject.bsn fails the elfproef (the BSN check digit test)")
    return value


class Pseudonymiser:
    """Turns a BSN into a stable pseudonym with a gateway secret (HMAC-SHA256), never reversible."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("pseudonym key must be at least 32 bytes")
        self._key = key

    def pseudonym(self, bsn: str) -> str:
        """The subject's pseudonym: hex HMAC-SHA256 over a domain-separated BSN."""
        return hmac.new(self._key, b"bsn:" + bsn.encode("ascii"), hashlib.sha256).hexdigest()
