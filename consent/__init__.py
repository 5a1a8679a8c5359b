"""The consent registry's pure core: consent records, who may consent, and whether one covers.

No I/O and no clock: storage, the web API and FHIR mapping sit around these functions,
and every time-dependent call takes the moment as a parameter.
"""

from __future__ import annotations

from .age import age_on, missing_givers, required_givers, verify_givers
from .evaluate import MissingConsent, explain_missing, find_covering_consent
from .fhir import consent_body_from_fhir, consent_to_fhir
from .model import ConsentRecord, ConsentStatus, Evidence, Giver, status, withdraw
from .parse import ConsentDraft, parse_consent_request

__all__ = [
    "ConsentDraft",
    "ConsentRecord",
    "ConsentStatus",
    "Evidence",
    "Giver",
    "MissingConsent",
    "age_on",
    "consent_body_from_fhir",
    "consent_to_fhir",
    "explain_missing",
    "find_covering_consent",
    "missing_givers",
    "parse_consent_request",
    "required_givers",
    "status",
    "verify_givers",
    "withdraw",
]
