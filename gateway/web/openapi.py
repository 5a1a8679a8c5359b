"""The OpenAPI 3.1 document served at `/v1/openapi.json`; a test keeps it equal to the routes."""

from __future__ import annotations

from typing import Any, get_args

from consent.model import GiverRole
from gateway.policy.cases import MEASURE_TYPES, ROLES
from gateway.policy.lifecycle import CLOSE_REASONS, OPENED_ON, REOPEN_REASONS
from gateway.policy.retention import ERASURE_REASONS
from gateway.policy.roles import COLUMNS

__all__ = ["openapi_document"]

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "how_to_fix"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "how_to_fix": {"type": "string"},
                "missing_consent": {"$ref": "#/components/schemas/MissingConsent"},
                "missing_relation": {
                    "type": "array",
                    "items": {"enum": ["referral_received", "case_member", "help_started"]},
                    "description": "relation_required (403): the sender's relations to the "
                    "subject any one of which the purpose presumes, none of which holds (with "
                    "`recipient`: none holds towards that recipient; a relation holds towards "
                    "the partners it ties the sender to)",
                },
                "violations": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"path": {"type": "string"}, "message": {"type": "string"}},
                    },
                },
                "ground_not_met": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["reference", "condition"],
                        "properties": {
                            "reference": {"type": "string"},
                            "condition": {
                                "enum": [
                                    "recipient_acts_for_college",
                                    "subjects",
                                    "requires_measure",
                                    "break_glass",
                                ]
                            },
                        },
                    },
                    "description": "consent_required (403): the grounds of the direction that "
                    "need no agreement but did not hold, and the condition that failed "
                    "(`break_glass`: the ground holds only with break-glass)",
                },
            },
        }
    },
}

_READINESS: dict[str, Any] = {
    "type": "object",
    "required": ["status", "storage", "in_flight", "max_in_flight"],
    "properties": {
        "status": {"enum": ["ready", "unavailable", "shedding_load"]},
        "storage": {"enum": ["ok", "unreachable"]},
        "in_flight": {
            "type": "integer",
            "minimum": 0,
            "description": "requests the answering worker is handling now (bodies complete)",
        },
        "max_in_flight": {"type": "integer", "minimum": 1, "description": "its cap"},
    },
}

_IDENTIFIER: dict[str, Any] = {
    "type": "object",
    "description": "an identifier of a person without a BSN, in a system the catalogue declares "
    "([[identifier_system]] in purposes.toml: its format and check)",
    "required": ["system", "value"],
    "additionalProperties": False,
    "properties": {
        "system": {"type": "string", "format": "uri", "maxLength": 200},
        "value": {"type": "string", "minLength": 1, "maxLength": 40},
    },
}

_SUBJECT: dict[str, Any] = {
    "description": "the person the message is about: by BSN, or by a declared identifier; "
    "pseudonymised on the server together with its system",
    "oneOf": [
        {
            "type": "object",
            "required": ["bsn"],
            "additionalProperties": False,
            "properties": {"bsn": {"type": "string", "pattern": "^[0-9]{9}$"}},
        },
        {
            "type": "object",
            "required": ["identifier"],
            "additionalProperties": False,
            "properties": {"identifier": _IDENTIFIER},
        },
    ],
}

# A query names a person by `bsn`, or by `identifier_system` with `identifier_value`.
_SUBJECT_QUERY = (
    ("bsn", "the subject's BSN (pseudonymised on the server)"),
    ("identifier_system", "instead of bsn: a declared identifier system (with identifier_value)"),
    ("identifier_value", "instead of bsn: the identifier's value (with identifier_system)"),
)
# What every audit call that shows entries holds to (docs/officer-workspace.md, "Whose entries").
_OVERSEEN = (
    "Only entries in which an organisation the officer oversees (partners.toml `oversees`) is "
    "sender or recipient, and the officer's own; entries naming no organisation only for an "
    'officer with `oversees = "all"`. An entry the officer may not see is 404, as a missing one.'
)


def _with_child_ref(subject_form: dict[str, Any]) -> dict[str, Any]:
    """A subject form of `_SUBJECT` with `child_ref` beside it (a household's child)."""
    return {
        **subject_form,
        "required": [*subject_form["required"], "child_ref"],
        "properties": {**subject_form["properties"], "child_ref": {"type": "string"}},
    }


_EXCHANGE_REQUEST = {
    "type": "object",
    "required": ["purpose", "to", "subject", "payload"],
    "additionalProperties": False,
    "properties": {
        "purpose": {"type": "string"},
        "to": {
            "oneOf": [
                {"type": "string"},
                {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 50},
                {
                    "type": "object",
                    "required": ["case_network"],
                    "properties": {"case_network": {"type": "string"}},
                },
            ]
        },
        "subject": {"$ref": "#/components/schemas/Subject"},
        "case_id": {"type": "string"},
        "in_reply_to": {"type": "string"},
        "break_glass": {
            "type": "object",
            "required": ["justification", "meldcode"],
            "properties": {
                "justification": {"type": "string", "minLength": 20, "maxLength": 1000},
                "meldcode": {
                    "type": "object",
                    "description": "the five questions of the meldcode's conflict-of-duties test",
                    "required": [
                        "interest_served",
                        "no_other_way",
                        "consent_not_possible",
                        "proportionate",
                        "minimal_information",
                    ],
                    "properties": {
                        "interest_served": {"type": "string", "minLength": 10, "maxLength": 500},
                        "no_other_way": {"type": "boolean"},
                        "consent_not_possible": {
                            "type": "string",
                            "minLength": 10,
                            "maxLength": 500,
                        },
                        "proportionate": {"type": "boolean"},
                        "minimal_information": {"type": "boolean"},
                    },
                },
            },
        },
        "payload": {"type": "object", "description": "the purpose's minimal dataset"},
    },
}


def _json(schema: dict[str, Any] | str, description: str = "OK") -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{schema}"} if isinstance(schema, str) else schema
    return {"description": description, "content": {"application/json": {"schema": ref}}}


# Dutch first (docs/contract-extensions.md, "Dutch first"): texts a professional reads come in
# the language Accept-Language asks for (Dutch without one), and say which in Content-Language.
_CONTENT_LANGUAGE = {"Content-Language": {"$ref": "#/components/headers/ContentLanguage"}}
_ACCEPT_LANGUAGE: dict[str, Any] = {
    "name": "Accept-Language",
    "in": "header",
    "required": False,
    "description": "the language of the answer's message, how_to_fix, violations and "
    "explanation (RFC 9110 12.5.4, quality values honoured): nl or nl-* Dutch, en or en-* "
    "English; absent or any other language: Dutch. Codes never change.",
    "schema": {"type": "string", "maxLength": 1024},
}
_LANGUAGE_COMPONENTS: dict[str, Any] = {
    "headers": {
        "ContentLanguage": {
            "description": "nl or en: the language the answer's texts are in. en where the "
            "caller asked for Dutch but a text has no reviewed Dutch yet (the whole answer is "
            "then English, never a mix)",
            "schema": {"enum": ["nl", "en"]},
        }
    },
}


def _errors(*statuses: int) -> dict[str, Any]:
    return {
        str(s): {**_json("Error", "refused; see error.code"), "headers": _CONTENT_LANGUAGE}
        for s in statuses
    }


def _with_accept_language(paths: dict[str, Any]) -> dict[str, Any]:
    """Every operation but the token endpoint (RFC 6749's English shape) takes Accept-Language."""
    for path, operations in paths.items():
        if path == "/v1/token":
            continue
        for operation in operations.values():
            operation["parameters"] = [*operation.get("parameters", []), dict(_ACCEPT_LANGUAGE)]
    return paths


# Who gave the client's agreement (docs/contract-extensions.md, "The representative acting").
_REFERENCE = {"type": "string", "minLength": 1, "maxLength": 200}
_GIVERS_SCHEMA: dict[str, Any] = {
    "type": "array",
    "minItems": 1,
    "maxItems": 4,
    "description": "the subject and/or the representative(s) acting: under 12 the holder(s) of "
    "authority (both holders of joint authority), 12-15 the child and the holder(s) (or the child "
    "alone with decides_alone), 16+ the subject, 18+ the subject or a mentor or curator; "
    "custodian is the legacy role (a holder whose kind of authority was not recorded)",
    "items": {
        "type": "object",
        "required": ["role"],
        "additionalProperties": False,
        "properties": {
            "role": {
                "type": "string",
                "enum": list(get_args(GiverRole)),
            },
            "name": {"type": "string", "minLength": 1, "maxLength": 100},
            "authority": {
                "type": "object",
                "description": "how the representative's authority was established; required "
                "for every representative role but custodian, never on the subject",
                "required": ["established_by", "reference"],
                "additionalProperties": False,
                "properties": {
                    "established_by": {
                        "type": "string",
                        "enum": ["gezagsregister", "court_order", "brp"],
                    },
                    "reference": _REFERENCE,
                },
            },
            "decides_alone": {
                "type": "object",
                "description": "on the subject only: a child of 12 to 15 agrees without the "
                "holders of authority (BW 7:450 lid 2), with the professional's assessment",
                "required": ["ground", "reference"],
                "additionalProperties": False,
                "properties": {
                    "ground": {"type": "string", "enum": ["serious_harm", "persistent_wish"]},
                    "reference": _REFERENCE,
                },
            },
        },
    },
}


def _op(
    summary: str, responses: dict[str, Any], *, auth: bool = True, **extra: Any
) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": responses, **extra}
    if auth:
        op["security"] = [{"bearer": []}]
        # Every call with a token counts against its partner's and actor's rate (rate_limited).
        op["responses"] = {**responses, **_errors(401, 429)}
    return op


def _query(name: str, description: str, *, required: bool = False) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": {"type": "string"},
    }


def _object_body(required: str, schema: dict[str, Any]) -> dict[str, Any]:
    """A body of exactly one required field."""
    return {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": [required],
                    "additionalProperties": False,
                    "properties": {required: schema},
                }
            }
        },
    }


def _reason_body(codes: frozenset[str], notice: dict[str, Any] | None = None) -> dict[str, Any]:
    """`{"reason": <code>}` (a closure: and an optional notice); a closure or reopening holds
    no free text."""
    properties: dict[str, Any] = {"reason": {"type": "string", "enum": sorted(codes)}}
    if notice is not None:
        properties["notice"] = notice
    return {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["reason"],
                    "additionalProperties": False,
                    "properties": properties,
                }
            }
        },
    }


def _path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def openapi_document(server_url: str) -> dict[str, Any]:
    """The whole document; paths are the gateway's routes, schemas the contract's bodies."""
    body = {"required": True, "content": {"application/json": {"schema": _EXCHANGE_REQUEST}}}
    check_body = {
        "required": True,
        "content": {
            "application/json": {
                "schema": {**_EXCHANGE_REQUEST, "required": ["purpose", "to", "subject"]}
            }
        },
    }
    paths: dict[str, Any] = {
        "/v1/token": {
            "post": _op(
                "Exchange a client assertion (RFC 7523, private_key_jwt) for an access token",
                {
                    "200": _json("TokenResponse"),
                    "400": _json(
                        "OAuthError",
                        "RFC 6749 5.2: invalid_request (not form-encoded, a required parameter "
                        "missing or repeated, client_assertion_type other than jwt-bearer), "
                        "unsupported_grant_type (grant_type other than client_credentials), "
                        "invalid_client (anything about the assertion or the client: signature, "
                        "key, times, a jti used before, an actor role the partner's kind may not "
                        "hold, an actor id outside its pattern or holding a BSN-like number)",
                    ),
                    "429": _json(
                        "OAuthError",
                        "the same codes after too many failed attempts; Retry-After says when",
                    ),
                },
                auth=False,
                requestBody={
                    "required": True,
                    "content": {
                        "application/x-www-form-urlencoded": {
                            "schema": {
                                "type": "object",
                                "required": [
                                    "grant_type",
                                    "client_assertion_type",
                                    "client_assertion",
                                ],
                                "properties": {
                                    "grant_type": {"const": "client_credentials"},
                                    "client_assertion_type": {
                                        "const": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
                                    },
                                    "client_assertion": {
                                        "type": "string",
                                        "description": "A JWS (RFC 7523): iss = sub = partner "
                                        "id, aud, iat, exp <= iat + 300, jti used once, act = "
                                        "{sub: actor id, role: actor role}. The actor id is "
                                        "pseudonymous: 1-64 of [A-Za-z0-9._:@-], no run of 8 or "
                                        "more digits, no nine digits passing the elfproef "
                                        "(separators aside); the role is one the catalogue's "
                                        "[actor_roles] gives the partner's kind.",
                                    },
                                    "client_id": {"type": "string"},
                                },
                            }
                        }
                    },
                },
            )
        },
        "/v1/exchanges": {
            "post": _op(
                "Send a message for a purpose; start-stop, evaluation-feedback and "
                "safety-assessment need a relation of the sender to the subject "
                "(403 relation_required with missing_relation); an exchange naming a closed "
                "case (case_id or case_network) other than a closure-notice, or a "
                "referrer-status saying closed or transferred: 409 case_closed",
                {
                    "201": {
                        **_json("ExchangeResult", "disclosed"),
                        "headers": _CONTENT_LANGUAGE,
                    },
                    **_errors(400, 403, 404, 408, 409, 413, 422),
                },
                requestBody=body,
            )
        },
        "/v1/exchanges/check": {
            "post": _op(
                "May I share? Decides without changing anything",
                {
                    "200": {**_json("CheckResult"), "headers": _CONTENT_LANGUAGE},
                    **_errors(400, 403, 408, 413),
                },
                requestBody=check_body,
            )
        },
        "/v1/inbox": {
            "get": _op(
                "Pull messages addressed to the caller, oldest first; urgent messages (a purpose's "
                "urgent rule, e.g. a report to Veilig Thuis with acute danger) carry urgent: true "
                "and acknowledge_by, come first in a leased pull and are listed again on top of "
                "the first page in 'urgent'",
                {"200": _json("InboxPage"), **_errors(400, 403)},
                parameters=[
                    _query("limit", "1-100, default 50"),
                    _query("after", "cursor from 'next'"),
                    _query(
                        "lease",
                        "seconds (1-3600): a leased pull, hidden from other leased "
                        "pulls until acked or expired",
                    ),
                ],
            )
        },
        "/v1/inbox/{message_id}/ack": {
            "post": _op(
                "Acknowledge a message: it leaves the inbox and a delivery receipt is logged",
                {"204": {"description": "acknowledged"}, **_errors(403, 404)},
                parameters=[_path("message_id")],
            )
        },
        "/v1/consents": {
            "post": _op(
                "Record consent: for exchanges the caller sends itself, or with case_id as the "
                "social team that directs the case, for exchanges between its members "
                "(otherwise 403 consent_scope_not_allowed); a birth date that contradicts the "
                "one the gateway holds for the subject is 422 birth_date_mismatch",
                {"201": _json({"type": "object"}, "recorded"), **_errors(400, 403, 422)},
                requestBody={
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "case_id": {
                                        "type": "string",
                                        "pattern": "^[A-Za-z0-9._-]{1,64}$",
                                        "description": "the case whose director (procesregisseur) "
                                        "records the family's agreement for its members; every "
                                        "partner in from and to is a member, no kinds in to",
                                    },
                                    "given_by": _GIVERS_SCHEMA,
                                },
                            }
                        }
                    },
                },
            ),
            "get": _op(
                "List the consents of a subject that the caller recorded, or is named in by id "
                "with every other party one its kind may see ([case_network_visibility]); a "
                "kind:<kind> entry makes no party",
                {"200": _json({"type": "object"}), **_errors(400, 403)},
                parameters=[_query(n, d) for n, d in _SUBJECT_QUERY],
            ),
        },
        "/v1/consents/fhir": {
            "post": _op(
                "Record consent from an HL7 FHIR R4 Consent resource (same rules; the case a "
                "director records for goes in the query)",
                {"201": _json({"type": "object"}, "recorded"), **_errors(400, 403, 422)},
                parameters=[
                    _query("case_id", "the case the caller directs and records consent for")
                ],
                requestBody={
                    "required": True,
                    "content": {
                        "application/fhir+json": {"schema": {"type": "object"}},
                        "application/json": {"schema": {"type": "object"}},
                    },
                },
            )
        },
        "/v1/consents/{consent_id}/fhir": {
            "get": _op(
                "A consent as an HL7 FHIR R4 Consent (the person by pseudonym)",
                {
                    "200": {
                        "description": "FHIR Consent",
                        "content": {"application/fhir+json": {"schema": {"type": "object"}}},
                    },
                    **_errors(403, 404),
                },
                parameters=[_path("consent_id")],
            )
        },
        "/v1/subjects/birth-date": {
            "post": _op(
                "Correct the birth date the gateway holds for a subject: the social team that "
                "directs a case whose household holds the child, with a reason code; logged as "
                "birth_date_corrected (no date in the log)",
                {"200": _json({"type": "object"}, "corrected"), **_errors(400, 403)},
                requestBody={
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["subject", "birth_date", "case_id", "reason"],
                                "additionalProperties": False,
                                "properties": {
                                    "subject": _SUBJECT,
                                    "birth_date": {"type": "string", "format": "date"},
                                    "case_id": {"type": "string"},
                                    "reason": {
                                        "enum": [
                                            "recording_error",
                                            "verified_by_document",
                                            "verified_in_brp",
                                        ]
                                    },
                                },
                            }
                        }
                    },
                },
            )
        },
        "/v1/consents/{consent_id}/withdraw": {
            "post": _op(
                "Withdraw a consent; effective at once for every later exchange",
                {"200": _json({"type": "object"}), **_errors(403, 404)},
                parameters=[_path("consent_id")],
            )
        },
        "/v1/cases": {
            "post": _op(
                "A social team opens a case; the gateway chooses its unguessable id "
                "(case_ and 128 random bits) and the team becomes its director (procesregisseur)",
                {"201": _json({"type": "object"}), **_errors(400, 403)},
                requestBody={
                    "required": False,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "additionalProperties": False,
                                "properties": {
                                    "dossier_reference": {
                                        "type": "string",
                                        "description": "the team's own reference, shown to it "
                                        "alone; never 8 or more digits in a row (no BSN)",
                                        "pattern": "^[A-Za-z0-9._/-]{1,40}$",
                                    },
                                    "contact": {"type": "object"},
                                    "opened_on": {
                                        "type": "string",
                                        "enum": sorted(OPENED_ON),
                                        "description": "what the case was opened on",
                                    },
                                    "opened_on_exchange": {
                                        "type": "string",
                                        "pattern": "^ex_[A-Za-z0-9_-]{8,64}$",
                                        "description": "the exchange id of the referral or "
                                        "signal (needs opened_on); shown to the director alone",
                                    },
                                },
                            }
                        }
                    },
                },
            )
        },
        "/v1/cases/{case_id}": {
            "get": _op(
                "A case's state (active or closed) and history (opened, closed, reopened, each "
                "with its code and when), to members only; a partner the caller's kind may not "
                "see is not named",
                {"200": _json({"type": "object"}), **_errors(400, 404)},
                parameters=[_path("case_id")],
            )
        },
        "/v1/cases/{case_id}/close": {
            "post": _op(
                "The directing partner closes its case with a coded reason: every open "
                "expectation of the case is cancelled (status cancelled, never overdue again), "
                "logged as case_closed; the answer lists what was cancelled and the members a "
                "closure notice should reach (and, with notice, sends it), and in referrer the "
                "partner whose referral the case was opened on, to tell with referrer-status. "
                "Not the director: 403 case_close_not_allowed; closed already: 409 case_closed",
                {"200": _json({"type": "object"}), **_errors(400, 403, 404, 409, 422)},
                parameters=[_path("case_id")],
                requestBody=_reason_body(
                    CLOSE_REASONS,
                    {
                        "type": "object",
                        "description": "the closure notice to send to the case's network in "
                        "the same call (purpose closure-notice): the answer's closure_notice "
                        "says per member disclosed or refused, with the refusal code",
                        "required": ["subject", "payload"],
                        "additionalProperties": False,
                        "properties": {"subject": _SUBJECT, "payload": {"type": "object"}},
                    },
                ),
            )
        },
        "/v1/cases/{case_id}/reopen": {
            "post": _op(
                "The directing partner reopens its closed case with a coded reason, logged as "
                "case_reopened. Not the director: 403 case_close_not_allowed; not closed: 409 "
                "case_not_closed",
                {"200": _json({"type": "object"}), **_errors(400, 403, 404, 409)},
                parameters=[_path("case_id")],
                requestBody=_reason_body(REOPEN_REASONS),
            )
        },
        "/v1/cases/{case_id}/network": {
            "get": _op(
                "The members of a case the caller's kind may see ([case_network_visibility]); "
                "to members only: any other caller gets the same 404 whether the case exists",
                {"200": _json({"type": "object"}), **_errors(400, 404)},
                parameters=[_path("case_id")],
            )
        },
        "/v1/cases/{case_id}/network/{partner_id}": {
            "put": _op(
                "Register a partner's involvement in a case: the directing social team registers "
                "others; a certified institution registers itself citing its measure's ruling",
                {
                    "200": _json({"type": "object"}),
                    "201": _json({"type": "object"}),
                    **_errors(400, 403, 404),
                },
                parameters=[_path("case_id"), _path("partner_id")],
                requestBody={
                    "required": False,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "additionalProperties": False,
                                "properties": {
                                    "role": {
                                        "type": "string",
                                        "enum": sorted(ROLES),
                                        "description": "one procesregisseur per case (a "
                                        "second: 409 procesregie_conflict); a casusregisseur "
                                        "needs column, one per column (409 casusregie_conflict)",
                                    },
                                    "column": {
                                        "type": "string",
                                        "enum": sorted(COLUMNS),
                                        "description": "a casusregisseur's column of help",
                                    },
                                    "contact": {"type": "object"},
                                    "reported_via": {
                                        "type": "string",
                                        "enum": ["direct", "beschermingstafel"],
                                    },
                                    "measure": {
                                        "type": "object",
                                        "required": ["type", "ruling"],
                                        "additionalProperties": False,
                                        "properties": {
                                            "type": {
                                                "type": "string",
                                                "enum": sorted(MEASURE_TYPES),
                                            },
                                            "ruling": {
                                                "type": "string",
                                                "description": "the court ruling's reference "
                                                "(ECLI or case number); no 8+ digit runs",
                                            },
                                        },
                                    },
                                },
                            }
                        }
                    },
                },
            ),
            "delete": _op(
                "The directing social team ends a partner's involvement in its case (logged)",
                {"200": _json({"type": "object"}), **_errors(400, 403, 404)},
                parameters=[_path("case_id"), _path("partner_id")],
            ),
        },
        "/v1/cases/{case_id}/hand-over": {
            "post": _op(
                "The partner holding procesregie hands it to a member that may hold it (a social "
                "team, or a certified institution registered with its measure); to itself: its "
                "calling professional becomes the acting one. Logged as procesregie_handed_over; "
                "the former holder becomes 'involved'. Not the holder, or a member that may not "
                "hold it: 403 forbidden; not a member: 404; closed: 409 case_closed; changed "
                "meanwhile: 409 procesregie_conflict",
                {"200": _json({"type": "object"}), **_errors(400, 403, 404, 409)},
                parameters=[_path("case_id")],
                requestBody=_object_body(
                    "to", {"type": "string", "description": "the new holder's partner id"}
                ),
            )
        },
        "/v1/cases/{case_id}/household/{child_ref}/direction": {
            "put": _op(
                "Set the certified institution that directs the help for a household child under "
                "its child-protection measure (by the holder of procesregie or the institution "
                "itself), or null to give it back to the procesregisseur. Logged as "
                "child_direction_set. A partner without a measure in the case: 403 forbidden",
                {"200": _json({"type": "object"}), **_errors(400, 403, 404, 409)},
                parameters=[_path("case_id"), _path("child_ref")],
                requestBody=_object_body(
                    "directed_by",
                    {"type": ["string", "null"], "description": "a certified institution's id"},
                ),
            )
        },
        "/v1/cases/{case_id}/household": {
            "put": _op(
                "The directing social team registers the children of a case's household "
                "(pseudonymised)",
                {"200": _json({"type": "object"}), **_errors(400, 403, 404)},
                parameters=[_path("case_id")],
                requestBody={
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["children"],
                                "properties": {
                                    "children": {
                                        "type": "array",
                                        "items": {
                                            "oneOf": [
                                                _with_child_ref(form) for form in _SUBJECT["oneOf"]
                                            ]
                                        },
                                    }
                                },
                            }
                        }
                    },
                },
            ),
            "get": _op(
                "The children of a case's household (child references only)",
                {"200": _json({"type": "object"}), **_errors(400, 403, 404)},
                parameters=[_path("case_id")],
            ),
        },
        "/v1/cases/{case_id}/referrer-status": {
            "post": _op(
                "Tell the case's original referrer its status (one call, sent as referrer-status)",
                {"201": _json("ExchangeResult"), **_errors(400, 403, 404, 422)},
                parameters=[_path("case_id")],
                requestBody={
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "description": "the person by 'bsn' or by 'identifier'",
                                "required": ["status"],
                                "oneOf": [{"required": ["bsn"]}, {"required": ["identifier"]}],
                                "properties": {
                                    "bsn": {"type": "string"},
                                    "identifier": _IDENTIFIER,
                                    "status": {"type": "string"},
                                    "action_description": {"type": "string", "maxLength": 200},
                                },
                            }
                        }
                    },
                },
            )
        },
        "/v1/expectations": {
            "get": _op(
                "Replies the caller owes or is owed: open, overdue, closed, cancelled or all",
                {"200": _json({"type": "object"}), **_errors(400, 403)},
                parameters=[
                    _query(
                        "status",
                        "open (default), overdue, closed, cancelled (its case closed first) or all",
                    ),
                    _query("case_id", "only this case"),
                ],
            )
        },
        "/v1/disclosures": {
            "get": _op(
                "The log entries in which the caller is sender or recipient; never a refused "
                "share to it, nor a token_refused entry (its privacy officers read those)",
                {"200": _json({"type": "object"}), **_errors(400, 403)},
                parameters=[
                    _query(n, d)
                    for n, d in (
                        *_SUBJECT_QUERY,
                        ("purpose", "purpose id"),
                        ("decision", "disclosed, refused, delivered, ..."),
                        ("since", "RFC 3339 time or date"),
                        ("until", "RFC 3339 time or date"),
                        ("limit", "1-500, default 100"),
                        ("after", "cursor from 'next'"),
                    )
                ],
            )
        },
        "/v1/disclosures/{index}/proof": {
            "get": _op(
                "An own entry's leaf, RFC 9162 inclusion proof and the signed checkpoint",
                {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["index", "tree_size", "leaf", "hashes", "checkpoint"],
                        }
                    ),
                    **_errors(403, 404),
                },
                parameters=[_path("index")],
            )
        },
        "/v1/audit/entries": {
            "get": _op(
                "Search the disclosure log (privacy officers)",
                {"200": _json({"type": "object"}), **_errors(400, 403)},
                description=_OVERSEEN,
                parameters=[
                    _query(n, d)
                    for n, d in (
                        *_SUBJECT_QUERY,
                        ("partner", "sender or recipient"),
                        ("purpose", "purpose id"),
                        ("decision", "disclosed, refused, delivered, ..."),
                        ("since", "RFC 3339 time or date"),
                        ("until", "RFC 3339 time or date"),
                        ("limit", "1-500, default 100"),
                        ("after", "cursor from 'next'"),
                    )
                ],
            )
        },
        "/v1/audit/entries/{index}": {
            "get": _op(
                "One log entry",
                {"200": _json({"type": "object"}), **_errors(403, 404)},
                description=_OVERSEEN,
                parameters=[_path("index")],
            )
        },
        "/v1/audit/entries/{index}/fhir": {
            "get": _op(
                "The entry as an HL7 FHIR R4 AuditEvent (subject as pseudonym)",
                {
                    "200": {
                        "description": "AuditEvent resource",
                        "content": {"application/fhir+json": {"schema": {"type": "object"}}},
                    },
                    **_errors(403, 404),
                },
                parameters=[_path("index")],
            )
        },
        "/v1/audit/entries/{index}/leaf": {
            "get": _op(
                "The exact bytes hashed as that entry's Merkle leaf",
                {
                    "200": {
                        "description": "leaf bytes",
                        "content": {"application/octet-stream": {"schema": {"type": "string"}}},
                    },
                    **_errors(403, 404),
                },
                parameters=[_path("index")],
            )
        },
        "/v1/audit/checkpoint": {
            "get": _op(
                "The latest signed checkpoint (C2SP tlog-checkpoint signed note)",
                {
                    "200": {
                        "description": "signed note",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    },
                    **_errors(403, 404),
                },
            )
        },
        "/v1/audit/proof/inclusion": {
            "get": _op(
                "RFC 9162 inclusion proof",
                description=_OVERSEEN,
                responses={
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["index", "tree_size", "leaf_hash", "hashes"],
                        }
                    ),
                    **_errors(400, 403, 404),
                },
                parameters=[
                    _query("index", "leaf index", required=True),
                    _query("tree_size", "a checkpointed size", required=True),
                ],
            )
        },
        "/v1/audit/proof/consistency": {
            "get": _op(
                "RFC 9162 consistency proof",
                {
                    "200": _json({"type": "object", "required": ["first", "second", "hashes"]}),
                    **_errors(400, 403, 404),
                },
                parameters=[
                    _query("first", "earlier size", required=True),
                    _query("second", "later checkpointed size", required=True),
                ],
            )
        },
        "/v1/audit/subject-report": {
            "get": _op(
                "Everything the log holds about one person (AVG art. 15); JSON or printable HTML",
                description=_OVERSEEN
                + ' The JSON report\'s `oversees` says whose entries it covers: "all" or the '
                "partner ids the officer oversees.",
                responses={
                    "200": {
                        "description": "report",
                        "content": {
                            "application/json": {"schema": {"type": "object"}},
                            "text/html": {"schema": {"type": "string"}},
                        },
                    },
                    **_errors(400, 403),
                },
                parameters=[
                    *(_query(n, d) for n, d in _SUBJECT_QUERY),
                    _query("format", "json (default) or html"),
                ],
            )
        },
        "/v1/audit/break-glass": {
            "get": _op(
                "Break-glass disclosures and their review status",
                {"200": _json({"type": "object"}), **_errors(400, 403)},
                description="Only the uses of the organisations the officer oversees (their sender); "
                "reviewing another organisation's use is 404, as an unknown exchange id is.",
                parameters=[_query("status", "pending, justified or unjustified")],
            )
        },
        "/v1/audit/break-glass/{exchange_id}/review": {
            "post": _op(
                "Review a break-glass disclosure (justified or not, with a note)",
                {"200": _json({"type": "object"}), **_errors(400, 403, 404)},
                parameters=[_path("exchange_id")],
                requestBody={
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["justified"],
                                "properties": {
                                    "justified": {"type": "boolean"},
                                    "note": {"type": "string", "maxLength": 1000},
                                },
                            }
                        }
                    },
                },
            )
        },
        "/v1/audit/subjects/erase": {
            "post": _op(
                "Erase a person's link to the records for good (docs/retention.md)",
                {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["erased", "log_index"],
                            "properties": {
                                "erased": {"type": "boolean", "const": True},
                                "log_index": {"type": "integer", "minimum": 0},
                            },
                        }
                    ),
                    **_errors(400, 403, 404),
                },
                description="Only the privacy officer who oversees every organisation "
                '(`oversees = "all"`); others get 403. The log entries stay; what goes is the '
                "link from the person to the pseudonym they carry, so no search or report by this "
                "BSN finds them again and a later exchange starts a new pseudonym. Logged as "
                "`subject_link_erased` (officer, reason; no subject). 404 when nothing is linked "
                "to the person (never seen, or erased before); nothing is logged then.",
                requestBody={
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["subject", "reason"],
                                "additionalProperties": False,
                                "properties": {
                                    "subject": _SUBJECT,
                                    "reason": {
                                        "type": "string",
                                        "enum": sorted(ERASURE_REASONS),
                                        "description": "why: the ground of AVG art. 17(1), or "
                                        "`retention_passed`",
                                    },
                                },
                            }
                        }
                    },
                },
            )
        },
        "/v1/purposes": {
            "get": _op("The purpose catalogue", {"200": _json({"type": "object"})}, auth=False)
        },
        "/v1/purposes/{purpose_id}": {
            "get": _op(
                "One purpose with its payload schema (the minimal dataset)",
                {"200": _json({"type": "object"}), **_errors(404)},
                auth=False,
                parameters=[_path("purpose_id")],
            )
        },
        "/v1/partners": {
            "get": _op(
                "Registered partners (public facts only)",
                {"200": _json({"type": "object"}), **_errors(403)},
            )
        },
        "/v1/notifications/keys": {
            "get": _op(
                "The public keys (JWKS) that webhook notifications are signed with",
                {"200": _json({"type": "object"})},
                auth=False,
            )
        },
        "/v1/openapi.json": {
            "get": _op("This document", {"200": _json({"type": "object"})}, auth=False)
        },
        "/healthz": {"get": _op("Liveness", {"200": _json({"type": "object"})}, auth=False)},
        "/readyz": {
            "get": _op(
                "Readiness: storage reachable and this worker not shedding load",
                {
                    "200": _json(_READINESS),
                    "503": _json(
                        _READINESS,
                        "not ready: storage unreachable (`unavailable`) or every in-flight "
                        "slot taken (`shedding_load`)",
                    ),
                },
                auth=False,
            )
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Social-domain exchange gateway",
            "version": "1.0.0",
            "description": "Lawful, minimal, logged data exchange between social teams, care "
            "providers, certified institutions and schools. See CONTRACT.md.",
        },
        "servers": [{"url": server_url}],
        "paths": _with_accept_language(paths),
        "components": {
            **_LANGUAGE_COMPONENTS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": _ERROR,
                "Subject": _SUBJECT,
                "OAuthError": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "enum": ["invalid_request", "invalid_client", "unsupported_grant_type"]
                        },
                        "error_description": {"type": "string"},
                    },
                },
                "TokenResponse": {
                    "type": "object",
                    "required": ["access_token", "token_type", "expires_in"],
                    "properties": {
                        "access_token": {"type": "string"},
                        "token_type": {"const": "Bearer"},
                        "expires_in": {"type": "integer", "maximum": 600},
                    },
                },
                "MissingConsent": {
                    "type": "object",
                    "properties": {
                        "purpose": {"type": "string"},
                        "from": {"type": "string"},
                        "to": {"type": "string"},
                        "given_by": {"type": "array", "items": {"type": "string"}},
                    },
                },
                "LegalBasis": {
                    "type": "object",
                    "properties": {
                        "type": {"enum": ["consent", "statute", "break_glass"]},
                        "reference": {"type": "string"},
                    },
                },
                "ExchangeResult": {
                    "type": "object",
                    "required": [
                        "exchange_id",
                        "purpose",
                        "legal_basis",
                        "consent_id",
                        "disclosures",
                    ],
                    "properties": {
                        "exchange_id": {"type": "string"},
                        "purpose": {"type": "string"},
                        "legal_basis": {"$ref": "#/components/schemas/LegalBasis"},
                        "consent_id": {"type": ["string", "null"]},
                        "payload_sha256": {"type": "string"},
                        "disclosures": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "disclosure_id": {"type": "string"},
                                    "recipient": {"type": "string"},
                                    "message_id": {"type": "string"},
                                    "log_index": {"type": "integer"},
                                },
                            },
                        },
                        "refused": {"type": "array", "items": {"type": "object"}},
                    },
                },
                "CheckResult": {
                    "type": "object",
                    "required": [
                        "allowed",
                        "code",
                        "legal_basis",
                        "consent_id",
                        "allowed_fields",
                        "missing_consent",
                        "explanation",
                    ],
                    "properties": {
                        "allowed": {"type": "boolean"},
                        "code": {"type": "string"},
                        "legal_basis": {
                            "oneOf": [{"$ref": "#/components/schemas/LegalBasis"}, {"type": "null"}]
                        },
                        "consent_id": {"type": ["string", "null"]},
                        "allowed_fields": {"type": "array", "items": {"type": "string"}},
                        "missing_consent": {
                            "oneOf": [
                                {"$ref": "#/components/schemas/MissingConsent"},
                                {"type": "null"},
                            ]
                        },
                        "missing_relation": {
                            "type": ["array", "null"],
                            "items": {"type": "string"},
                            "description": "on relation_required: the relations any one of "
                            "which would do",
                        },
                        "explanation": {"type": "string"},
                    },
                },
                "InboxPage": {
                    "type": "object",
                    "required": ["messages", "next"],
                    "properties": {
                        "messages": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/InboxMessage"},
                        },
                        "next": {"type": ["string", "null"]},
                        "leased_until": {"type": "string", "format": "date-time"},
                        "urgent": {
                            "description": "First page of a paged pull only: the waiting urgent "
                            "messages (at most 50, oldest first), each also in 'messages' in its "
                            "place",
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/InboxMessage"},
                        },
                    },
                },
                "InboxMessage": {
                    "type": "object",
                    "required": ["id", "exchange_id", "purpose", "urgent"],
                    "properties": {
                        "id": {"type": "string"},
                        "exchange_id": {"type": "string"},
                        "purpose": {"type": "string"},
                        "urgent": {
                            "description": "true while the receipt of this urgent message is "
                            "owed: acknowledge it by acknowledge_by or the gateway escalates",
                            "type": "boolean",
                        },
                        "acknowledge_by": {"type": "string", "format": "date-time"},
                    },
                },
            },
        },
    }
