"""The policy decision: may this message go, to whom, on which basis, with which fields.

Pure: a function of the parsed request, the caller, the catalogue, the partners, the subject's
consents and the clock. No I/O happens here; `gateway.service.exchanges` does that around it.
"""

from gateway.policy.decision import Decision, RecipientDecision, decide
from gateway.policy.minimal import allowed_fields, check_payload, disclosed_fields
from gateway.policy.request import (
    BreakGlass,
    CaseNetworkTarget,
    ExchangeRequest,
    parse_exchange_request,
)

__all__ = [
    "BreakGlass",
    "CaseNetworkTarget",
    "Decision",
    "ExchangeRequest",
    "RecipientDecision",
    "allowed_fields",
    "check_payload",
    "decide",
    "disclosed_fields",
    "parse_exchange_request",
]
