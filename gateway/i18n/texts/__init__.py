"""The reviewed catalogue: every English text a professional reads, with its Dutch text.

Split by where the texts arise; `CATALOGUE` holds them all. A new refusal in `gateway/policy/`
or `consent/` needs its Dutch here (tests/test_i18n_catalogue.py fails without it).
"""

from __future__ import annotations

from typing import Final

from gateway.i18n.catalogue import Catalogue
from gateway.i18n.texts.api import API_TEXTS
from gateway.i18n.texts.consent import CONSENT_TEXTS
from gateway.i18n.texts.policy import POLICY_TEXTS
from gateway.i18n.texts.requests import REQUEST_TEXTS
from gateway.i18n.texts.web import WEB_TEXTS

__all__ = ["CATALOGUE"]

CATALOGUE: Final = Catalogue(
    (*POLICY_TEXTS, *CONSENT_TEXTS, *REQUEST_TEXTS, *WEB_TEXTS, *API_TEXTS)
)
