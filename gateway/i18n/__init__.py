"""Dutch first: the language of each answer, and the reviewed Dutch texts of the gateway's refusals.

`negotiate_language` reads `Accept-Language`; `localize_error` and `localize_check` give an
answer wholly in Dutch, or wholly in English where a text has no Dutch yet. The catalogue
(`gateway/i18n/texts/`) pairs each English template with its Dutch one; see `catalogue.py`.
"""

from gateway.i18n.catalogue import Catalogue, Text
from gateway.i18n.language import DEFAULT_LANGUAGE, LANGUAGES, Language, negotiate_language
from gateway.i18n.localize import (
    Localized,
    localize_check,
    localize_error,
    localize_exchange,
    localize_text,
)
from gateway.i18n.texts import CATALOGUE

__all__ = [
    "CATALOGUE",
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "Catalogue",
    "Language",
    "Localized",
    "Text",
    "localize_check",
    "localize_error",
    "localize_exchange",
    "localize_text",
    "negotiate_language",
]
