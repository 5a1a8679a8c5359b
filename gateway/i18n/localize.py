"""Answers in the caller's language: an error body or a check answer, wholly Dutch or wholly English.

Only the texts a professional reads are localized (`message`, `how_to_fix`, each violation's
`message`, a missing consent's `reasons`, the check's `explanation`, an exchange's `refused`
recipients and `warnings`); codes, identifiers and paths stay as they are. When one
of an answer's texts has no Dutch yet, the whole answer stays English and says so with
`Content-Language: en`: an honest fallback rather than a half-translated mix.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from gateway.i18n.catalogue import Catalogue
from gateway.i18n.language import Language
from gateway.i18n.texts import CATALOGUE

__all__ = ["Localized", "localize_check", "localize_error", "localize_exchange", "localize_text"]

Localized = tuple[dict[str, Any], Language]

_TEXT_FIELDS: Final = ("message", "how_to_fix", "explanation")


def localize_text(english: str, language: Language, catalogue: Catalogue = CATALOGUE) -> str | None:
    """`english` in `language`, or None when the catalogue has no Dutch for it."""
    if language == "en":
        return english
    return catalogue.dutch(english)


def _localize_object(obj: Mapping[str, Any], catalogue: Catalogue) -> dict[str, Any] | None:
    out = dict(obj)
    for key in _TEXT_FIELDS:
        value = obj.get(key)
        if isinstance(value, str) and value:
            dutch = catalogue.dutch(value)
            if dutch is None:
                return None
            out[key] = dutch
    reasons = obj.get("reasons")
    if isinstance(reasons, list):
        dutch_reasons = [catalogue.dutch(r) if isinstance(r, str) else None for r in reasons]
        if None in dutch_reasons:
            return None
        out["reasons"] = dutch_reasons
    violations = obj.get("violations")
    if isinstance(violations, list):
        localized = []
        for violation in violations:
            if not isinstance(violation, Mapping):
                localized.append(violation)
                continue
            one = _localize_object(violation, catalogue)
            if one is None:
                return None
            localized.append(one)
        out["violations"] = localized
    return out


def localize_error(
    body: Mapping[str, Any], language: Language, catalogue: Catalogue = CATALOGUE
) -> Localized:
    """The contract's error body (`{"error": {...}}`) in `language`, and the language it is in."""
    error = body.get("error")
    if language == "en" or not isinstance(error, Mapping):
        return dict(body), "en"
    dutch = _localize_object(error, catalogue)
    if dutch is None:
        return dict(body), "en"
    return {**body, "error": dutch}, "nl"


def localize_check(
    answer: Mapping[str, Any], language: Language, catalogue: Catalogue = CATALOGUE
) -> Localized:
    """The "may I share?" answer in `language`, and the language it is in."""
    if language == "en":
        return dict(answer), "en"
    dutch = _localize_object(answer, catalogue)
    if dutch is None:
        return dict(answer), "en"
    return dutch, "nl"


def localize_exchange(
    answer: Mapping[str, Any], language: Language, catalogue: Catalogue = CATALOGUE
) -> Localized:
    """The 201 answer of an exchange in `language`: the reasons of the recipients a case-network
    fan-out left out (`refused`, each in the error object's shape) and the `warnings`."""
    if language == "en":
        return dict(answer), "en"
    out = dict(answer)
    refused = answer.get("refused")
    if isinstance(refused, list):
        localized = [
            _localize_object(item, catalogue) if isinstance(item, Mapping) else item
            for item in refused
        ]
        if None in localized:
            return dict(answer), "en"
        out["refused"] = localized
    warnings = answer.get("warnings")
    if isinstance(warnings, list):
        dutch = [catalogue.dutch(w) if isinstance(w, str) else None for w in warnings]
        if None in dutch:
            return dict(answer), "en"
        out["warnings"] = dutch
    return out, "nl"
