"""The consent registry's pure core: the client's agreements, who may give them, what they cover.

No I/O and no clock: storage, the web API and FHIR mapping sit around these functions,
and every time-dependent call takes the moment as a parameter.
"""

from __future__ import annotations

from .age import age_on, missing_givers, required_givers, verify_givers
from .evaluate import MissingConsent, Viewer, explain_missing, find_covering_consent
from .fhir import consent_body_from_fhir, consent_to_fhir
from .model import (
    Authority,
    ConsentRecord,
    ConsentStatus,
    Evidence,
    Giver,
    MinorDecision,
    giver_names_shown_to,
    is_party,
    shown_to,
    status,
    withdraw,
)
from .parse import ConsentDraft, parse_consent_request
from .scope import CaseScope, RecordingScope, verify_recording_scope

__all__ = [
    "Authority",
    "CaseScope",
    "ConsentDraft",
    "ConsentRecord",
    "ConsentStatus",
    "Evidence",
    "Giver",
    "MinorDecision",
    "MissingConsent",
    "RecordingScope",
    "Viewer",
    "age_on",
    "consent_body_from_fhir",
    "consent_to_fhir",
    "explain_missing",
    "find_covering_consent",
    "giver_names_shown_to",
    "is_party",
    "missing_givers",
    "parse_consent_request",
    "required_givers",
    "shown_to",
    "status",
    "verify_givers",
    "verify_recording_scope",
    "withdraw",
]
