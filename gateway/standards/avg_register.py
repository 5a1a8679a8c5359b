"""The register of processing activities (AVG art. 30 lid 1), generated from the catalogue.

One processing activity per purpose. What the article asks, and where it comes from here:
(a) the controller and its data protection officer: `register.toml`; (b) the purposes: the
purpose's title and description; (c) the categories of data subjects and of personal data: the
subject forms the purpose accepts and the fields of its minimal dataset, with the special
categories its grounds declare; (d) the categories of recipients: the partner kinds it may go
to, with the registered partners of those kinds; (e) transfers to third countries: none, the
gateway delivers only to partners registered in `partners.toml`; (f) the erasure terms: the
record and inbox retention; (g) the security measures: those the gateway itself applies (below).
The grounds (art. 6, art. 9 with the UAVG article, the sector law, whether professional secrecy
needs the client's agreement) are added per direction, as the catalogue declares them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gateway.config.grounds import Ground
from gateway.config.partners import PartnerRegistry
from gateway.config.purposes import Catalogue, Purpose
from gateway.config.register import RegisterSettings
from gateway.policy.minimal import allowed_fields

__all__ = ["SECURITY_MEASURES", "processing_register", "register_markdown"]

# Art. 30 lid 1 (g) with art. 32: what the gateway does for every activity it carries.
SECURITY_MEASURES: tuple[str, ...] = (
    "Every partner authenticates with a signed client assertion (RFC 7523) naming the acting "
    "professional and role; access tokens live at most 10 minutes.",
    "Each purpose lets through only its minimal dataset (a closed JSON Schema); any other field "
    "is refused and the refusal logged.",
    "Each exchange is checked against its legal ground (statute, or the client's recorded "
    "agreement) before delivery; refusals say why and are logged.",
    "Message contents are sealed to the recipient's own key (HPKE, RFC 9180) and never stored "
    "in clear by the gateway; inboxes are purged after the purpose's inbox retention.",
    "The BSN is never stored or logged in clear: log entries carry a keyed pseudonym.",
    "Every disclosure and refusal is written to an append-only, tamper-evident log (RFC 9162 "
    "Merkle tree with signed checkpoints) that privacy officers search and verify.",
    "Privacy officers see only the organisations they oversee; break-glass use needs a reason "
    "and is reviewed.",
    "Transport over TLS (1.2 or later); keys are kept in files readable only by the gateway.",
)

_SUBJECTS = (
    "clients of the municipality's social domain (youth under the Jeugdwet, adults under the "
    "Wmo 2015 or the Participatiewet) named as the subject of a message"
)


def _ground(ground: Ground, default: bool) -> dict[str, Any]:
    return {
        "direction": "default"
        if default
        else {"from": sorted(ground.from_kinds), "to": sorted(ground.to_kinds)},
        "type": ground.type,
        "reference": ground.reference,
        "avg_art6": [f"AVG art. 6 lid 1 sub {letter}" for letter in ground.avg_art6],
        "avg_art9": [f"AVG art. 9 lid 2 sub {letter}" for letter in ground.avg_art9],
        "uavg": ground.uavg,
        "sector_law": ground.sector_law,
        "agreement_required": ground.agreement_required,
        "retention_source": ground.retention,
        # When the ground holds (issue 19): e.g. {"recipient_acts_for_college": true}; {} always.
        "conditions": ground.conditions.to_json(),
    }


def _recipients(purpose: Purpose, partners: PartnerRegistry | None) -> list[dict[str, Any]]:
    out = []
    for kind in sorted(purpose.recipient_kinds):
        named = (
            []
            if partners is None
            else sorted(p.name for p in partners.partners.values() if p.kind == kind)
        )
        out.append({"kind": kind, "partners": named})
    return out


def _subject_forms(purpose: Purpose, catalogue: Catalogue) -> list[str]:
    forms = ["BSN (burgerservicenummer)"]
    for system in catalogue.identifier_systems.values():
        if system.accepts(purpose.id):
            forms.append(f"{system.title.get('en', system.system)} ({system.system})")
    return forms


def _activity(
    purpose: Purpose, catalogue: Catalogue, partners: PartnerRegistry | None
) -> dict[str, Any]:
    grounds = [purpose.ground, *purpose.direction_grounds]
    return {
        "id": purpose.id,
        "uri": purpose.processing_activity,
        "name": dict(purpose.title),
        "purpose": purpose.description,
        "grounds": [_ground(g, g is purpose.ground) for g in grounds],
        "data_subjects": _SUBJECTS,
        "subject_identifiers": _subject_forms(purpose, catalogue),
        "personal_data": list(allowed_fields(purpose.schema)),
        "special_categories": any(g.special_categories for g in grounds),
        "senders": sorted(purpose.sender_kinds),
        "recipients": _recipients(purpose, partners),
        "third_country_transfers": "none",
        "retention": {
            "records_years": purpose.record_retention_years,
            "inbox_days": purpose.inbox_retention_days,
        },
        "confidentiality": purpose.confidentiality,
    }


def processing_register(
    catalogue: Catalogue,
    register: RegisterSettings,
    partners: PartnerRegistry | None = None,
) -> dict[str, Any]:
    """The register as data: the controller, its officer, the measures, one activity per purpose."""
    return {
        "controller": {"name": register.controller.name, "contact": register.controller.contact},
        "data_protection_officer": {"name": register.dpo.name, "contact": register.dpo.contact},
        "security_measures": list(SECURITY_MEASURES),
        "activities": [
            _activity(p, catalogue, partners) for p in sorted(catalogue, key=lambda p: p.id)
        ],
    }


def _lines(values: Sequence[str]) -> str:
    return ", ".join(values) if values else "none"


def register_markdown(document: Mapping[str, Any]) -> str:
    """The register as a Markdown document a privacy officer can hand on."""
    out = [
        "# Register of processing activities (AVG art. 30 lid 1)",
        "",
        f"- Controller: {document['controller']['name']} ({document['controller']['contact']})",
        "- Data protection officer: "
        f"{document['data_protection_officer']['name']} "
        f"({document['data_protection_officer']['contact']})",
        "",
        "## Security measures (art. 30 lid 1 sub g, art. 32)",
        "",
        *(f"- {measure}" for measure in document["security_measures"]),
    ]
    for activity in document["activities"]:
        retention = activity["retention"]
        out += [
            "",
            f"## {activity['name'].get('en', activity['id'])} ({activity['id']})",
            "",
            f"- Register entry: {activity['uri'] or 'not set'}",
            f"- Purpose: {activity['purpose']}",
            f"- Data subjects: {activity['data_subjects']}; named by "
            f"{_lines(activity['subject_identifiers'])}",
            f"- Personal data (the minimal dataset): {_lines(activity['personal_data'])}",
            "- Special categories of personal data (art. 9): "
            + ("yes" if activity["special_categories"] else "no"),
            f"- Sent by: {_lines(activity['senders'])}",
            "- Recipients: "
            + "; ".join(
                f"{r['kind']}" + (f" ({', '.join(r['partners'])})" if r["partners"] else "")
                for r in activity["recipients"]
            ),
            f"- Transfers to third countries: {activity['third_country_transfers']}",
            f"- Erasure: records after {retention['records_years']} years; undelivered "
            f"messages after {retention['inbox_days']} days",
            f"- Confidentiality: {activity['confidentiality']}",
        ]
        for ground in activity["grounds"]:
            direction = ground["direction"]
            where = (
                "default"
                if direction == "default"
                else f"{_lines(direction['from'])} to {_lines(direction['to'])}"
            )
            conditions = ground.get("conditions") or {}
            if conditions:
                where += ", only where " + ", ".join(
                    f"{key} = {str(value).lower() if isinstance(value, bool) else value}"
                    for key, value in conditions.items()
                )
            out += [
                f"- Ground ({where}): {ground['reference']}; "
                f"{_lines(ground['avg_art6'] + ground['avg_art9'])}"
                + (f"; {ground['uavg']}" if ground["uavg"] else "")
                + f"; sector law: {ground['sector_law']}; client's agreement needed: "
                + ("yes" if ground["agreement_required"] else "no")
                + f"; retention: {ground['retention_source']}",
            ]
    return "\n".join(out) + "\n"
