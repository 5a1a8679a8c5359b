"""Which language a request is answered in: Dutch unless the caller prefers English.

`Accept-Language` is read as RFC 9110 section 12.5.4 defines it: a list of language ranges,
each with an optional quality value (`q`, 0 to 1, three decimals at most). The range with the
highest quality that names a language the gateway writes wins; on a tie the one listed first.
`nl` and `nl-*` are Dutch, `en` and `en-*` English, `*` the default (Dutch); a range with
`q=0` is "not acceptable" and never chosen. Anything else, an absent header or one that cannot
be read gives Dutch: the professionals the gateway serves are Dutch, and an error must never be
refused for want of a language.
"""

from __future__ import annotations

import re
from typing import Final, Literal

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "Language", "negotiate_language"]

Language = Literal["nl", "en"]
DEFAULT_LANGUAGE: Final[Language] = "nl"
LANGUAGES: Final[tuple[Language, ...]] = ("nl", "en")

# RFC 9110 5.6.6 weight: OWS ";" OWS "q=" qvalue; qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
_QVALUE: Final = re.compile(r"q=(0(\.[0-9]{0,3})?|1(\.0{0,3})?)", re.IGNORECASE)
# RFC 4647 2.1 language-range: (1*8ALPHA *("-" 1*8alphanum)) / "*"
_RANGE: Final = re.compile(r"\*|[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*")
_MAX_HEADER: Final = 1024  # a longer header is not read item by item; it gives the default


def _language_of(language_range: str) -> Language | None:
    primary = language_range.split("-", 1)[0].lower()
    if primary == "*":
        return DEFAULT_LANGUAGE
    if primary in ("nl", "en"):
        return "nl" if primary == "nl" else "en"
    return None


def negotiate_language(accept_language: str | None) -> Language:
    """The language to answer in for this `Accept-Language` value (None: the header is absent)."""
    if not accept_language or len(accept_language) > _MAX_HEADER:
        return DEFAULT_LANGUAGE
    best: tuple[float, Language] | None = None
    for item in accept_language.split(","):
        parts = [part.strip() for part in item.split(";")]
        language_range, params = parts[0], parts[1:]
        if not _RANGE.fullmatch(language_range):
            continue
        quality = 1.0
        readable = True
        for param in params:
            weight = _QVALUE.fullmatch(param)
            if weight is None:
                readable = False
                break
            quality = float(weight.group(1))
        language = _language_of(language_range)
        if not readable or language is None or quality == 0.0:
            continue
        if best is None or quality > best[0]:
            best = (quality, language)
    return DEFAULT_LANGUAGE if best is None else best[1]
