"""Strict base64url and JSON decoding for JOSE objects and access tokens.

Lenient decoders are how parser-differential attacks get in (RFC 8725 section 3.7
and 2.8): these refuse padding, foreign alphabets, non-canonical trailing bits,
duplicate object members and the non-JSON constants NaN and Infinity.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import unicodedata
from typing import Any

__all__ = [
    "b64url_decode",
    "b64url_encode",
    "compact_json",
    "is_clean_text",
    "strict_json_object",
]

_B64URL = re.compile(r"[A-Za-z0-9_-]*")


def b64url_encode(data: bytes) -> str:
    """Base64url without padding (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode unpadded base64url, refusing anything that does not re-encode to the same text."""
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not unpadded base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as exc:
        raise ValueError("not unpadded base64url") from exc
    # Non-zero trailing bits would give one value several encodings.
    if b64url_encode(data) != text:
        raise ValueError("non-canonical base64url")
    return data


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate member {key!r}")
        result[key] = value
    return result


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def strict_json_object(data: bytes) -> dict[str, Any]:
    """Parse UTF-8 JSON that must be an object, without duplicate members or NaN/Infinity."""
    try:
        text = data.decode("utf-8")
        value = json.loads(
            text, object_pairs_hook=_refuse_duplicates, parse_constant=_refuse_constant
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ValueError(f"not a JSON object: {exc}") from exc
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def compact_json(value: Any) -> bytes:
    """Serialise to compact, key-sorted UTF-8 JSON."""
    return json.dumps(
        value, separators=(",", ":"), sort_keys=True, ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def is_clean_text(text: str) -> bool:
    """True when `text` has no control characters or lone surrogates, so it logs safely."""
    return all(unicodedata.category(char) not in ("Cc", "Cs") for char in text)
