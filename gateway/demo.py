"""`gateway demo`: a short story from the domain, played with the demo partners over real HTTP.

A provider's evaluation feedback reaches the social team; a closure notice to a school is
refused for lack of consent; the team records the consent of a 14-year-old and a parent; the
notice then goes through; a field outside the minimal dataset is refused; the recipients pull
and acknowledge their messages. Part two follows one family over time; part three is a school's
urgent report to Veilig Thuis and Veilig Thuis's feedback. Then the disclosure records are
printed as a table.
"""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from gateway.client.http import GatewayClientError, PartnerClient
from gateway.clock import DUTCH_TIME
from gateway.log.checkpoint import open_checkpoint
from gateway.log.entry import LogEntry
from gateway.log.merkle import leaf_hash, verify_inclusion
from gateway.runtime import build_gateway
from gateway.web import create_app

__all__ = ["run_demo"]

# A fictitious BSN that passes the elfproef; not a real person.
DEMO_BSN = "999992351"
DOSSIER = "WT-2026/0042"  # the team's own dossier reference; the gateway chooses the case id
RULING = "ECLI:NL:RBNHO:2026:4711"  # the (fictitious) ruling of the GI's child-protection measure


def _say(step: int, text: str) -> None:
    print(f"\n{step}. {text}")


def _show(label: str, value: Any) -> None:
    print(f"   {label}: {json.dumps(value, ensure_ascii=False)}")


def _refusal(error: GatewayClientError) -> None:
    print(f"   refused: {error.status} {error.code}")
    print(f"   why:     {error.message}")
    print(f"   fix:     {error.how_to_fix}")
    missing = error.details.get("missing_consent")
    if missing:
        _show("missing consent", missing)
    for violation in error.details.get("violations", []):
        print(f"   field:   {violation['path']} ({violation['message']})")


def _born_fourteen_years_before(now: datetime) -> str:
    """The demo child's birth date: 15 January, fourteen years before now's Dutch calendar year."""
    return date(now.astimezone(DUTCH_TIME).year - 14, 1, 15).isoformat()


def _examples(config: Path) -> Path:
    return (config / ".." / "schemas" / "examples").resolve()


def _example(config: Path, purpose: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((_examples(config) / f"{purpose}.json").read_text())
    return loaded


def _client(base: str, config: Path, audience: str, partner: str, role: str) -> PartnerClient:
    keys = json.loads((config / "demo" / f"{partner}.private.jwks.json").read_text())
    return PartnerClient(
        base,
        partner_id=partner,
        private_jwks=keys,
        actor_id=f"{partner}-demo-actor",
        actor_role=role,
        audience=audience,
        # The demo narrates in English, so it reads the gateway's refusals in English too
        # (without this they would come in Dutch, the gateway's default, amid English lines).
        language="en",
    )


def _table(rows: list[tuple[int, LogEntry]]) -> None:
    headers = ("#", "decision", "reason", "purpose", "by", "to", "basis", "consent", "fields")
    lines = [headers]
    for index, e in rows:
        basis = "" if e.legal_basis is None else e.legal_basis.get("type", "")
        lines.append(
            (
                str(index),
                e.decision,
                e.reason or "",
                e.purpose or "",
                "" if e.sender is None else e.sender.partner,
                e.recipient or "",
                basis,
                (e.consent_id or "")[:12],
                str(len(e.fields)) if e.fields else "",
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(headers))]
    for n, line in enumerate(lines):
        print("  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)))
        if n == 0:
            print("  " + "  ".join("-" * w for w in widths))


async def _story(config: Path, data: Path) -> int:
    gw = build_gateway(config, data)
    runner = web.AppRunner(create_app(gw), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    base = f"http://127.0.0.1:{port}"
    print(f"Gateway running at {base} on a temporary data folder ({data}).")
    print(
        "Demo partners: swt-denhelder (social team), zorg-noord (care provider), "
        "school-de-es (school), gi-noordholland (certified institution), veiligthuis-nhn "
        "(Veilig Thuis)."
    )
    aud = gw.settings.id
    provider = _client(base, config, aud, "zorg-noord", "casusregisseur")
    team = _client(base, config, aud, "swt-denhelder", "procesregisseur")
    school = _client(base, config, aud, "school-de-es", "intern_begeleider")
    try:
        opened = await team.open_case(dossier_reference=DOSSIER)
        case = str(opened["case_id"])
        await team.register_member(case, "zorg-noord", role="involved")
        print(
            f"The social team opens the family's case (its dossier {DOSSIER}): the gateway "
            f"chooses the id {case}, and the team directs the case. It registers Zorgaanbieder "
            "Noord in the case: only a member may name the case in what it sends."
        )
        _say(
            1,
            "Zorgaanbieder Noord sends evaluation feedback to the social team "
            "(statutory basis, no consent needed) ... but the statute presumes it helps this "
            "child, and nothing the gateway holds shows that yet:",
        )
        try:
            await provider.send(
                "evaluation-feedback",
                "swt-denhelder",
                DEMO_BSN,
                _example(config, "evaluation-feedback"),
                case_id=case,
            )
            print("   unexpectedly allowed")
            return 1
        except GatewayClientError as error:
            _refusal(error)
        await team.request(
            "PUT",
            f"/v1/cases/{case}/household",
            json_body={"children": [{"bsn": DEMO_BSN, "child_ref": "kind-1"}]},
        )
        print(
            "   The team registers the child in the case's household: the provider, a member "
            "of the case, now has a relation to the child (case_member), and sends again."
        )
        sent = await provider.send(
            "evaluation-feedback",
            "swt-denhelder",
            DEMO_BSN,
            _example(config, "evaluation-feedback"),
            case_id=case,
        )
        _show("legal basis", sent["legal_basis"])
        _show("disclosures", sent["disclosures"])

        _say(2, "The social team tells the school that help has ended (closure notice) ...")
        notice = _example(config, "closure-notice")
        try:
            await team.send("closure-notice", "school-de-es", DEMO_BSN, notice, case_id=case)
            print("   unexpectedly allowed")
            return 1
        except GatewayClientError as error:
            _refusal(error)

        _say(3, "The team records consent given by the child (14) and a parent.")
        birth_date = _born_fourteen_years_before(gw.now())
        recorded = await team.record_consent(
            {
                "subject": {"bsn": DEMO_BSN, "birth_date": birth_date},
                "given_by": [{"role": "subject"}, {"role": "custodian", "name": "J. de Vries"}],
                "purposes": ["closure-notice"],
                "to": ["school-de-es"],
                "evidence": {"method": "written", "reference": "dossier 2026-0042, form 3"},
            }
        )
        _show("consent", recorded)

        _say(4, "The closure notice is sent again.")
        sent = await team.send("closure-notice", "school-de-es", DEMO_BSN, notice, case_id=case)
        _show("legal basis", sent["legal_basis"])
        _show("consent used", sent["consent_id"])

        _say(5, "The provider adds a diagnosis to its feedback: outside the minimal dataset.")
        too_much = {**_example(config, "evaluation-feedback"), "diagnosis": "F90.0"}
        try:
            await provider.send("evaluation-feedback", "swt-denhelder", DEMO_BSN, too_much)
            print("   unexpectedly allowed")
            return 1
        except GatewayClientError as error:
            _refusal(error)

        _say(6, "The recipients pull their inboxes and acknowledge (sealed to their keys).")
        for name, client in (("swt-denhelder", team), ("school-de-es", school)):
            page = await client.inbox()
            for message in page["messages"]:
                print(
                    f"   {name} received {message['purpose']} from {message['from']['partner']}"
                    f" (fields: {', '.join(sorted(message['payload']))})"
                )
                await client.ack(message["id"])

        closure_index = sent["disclosures"][0]["log_index"]
        gi = _client(base, config, aud, "gi-noordholland", "jeugdbeschermer")
        try:
            if await _family_story(config, case, birth_date, provider, team, school, gi) != 0:
                return 1
        finally:
            await gi.close()
        vt = _client(base, config, aud, "veiligthuis-nhn", "triagist")
        try:
            if await _veilig_thuis_story(config, school, team, vt) != 0:
                return 1
        finally:
            await vt.close()

        _say(23, "The disclosure records (no payload, no BSN: pseudonyms, field names, hashes).")
        size = await gw.storage.log_size()
        rows = await gw.storage.log_rows(0, size)
        _table([(row.index, row.entry) for row in rows])

        _say(
            24, "The privacy officer checks that the closure notice's record is in the signed log."
        )
        return await _officer_checks(base, config, gw, closure_index)

    finally:
        for client in (provider, team, school):
            await client.close()
        await runner.cleanup()


SIBLINGS = (("kind-1", DEMO_BSN), ("kind-2", "999993653"), ("kind-3", "999990342"))


def _expectations(items: list[dict[str, Any]]) -> None:
    for e in items:
        child = f" for {e['child_ref']}" if e.get("child_ref") else ""
        print(
            f"   - {e['purpose']}{child}: owed by {e['owed_by']} to {e['owed_to']}, "
            f"due {e['due_at'][:10]}, {e['status']}"
        )


async def _family_story(
    config: Path,
    case: str,
    birth_date: str,
    provider: PartnerClient,
    team: PartnerClient,
    school: PartnerClient,
    gi: PartnerClient,
) -> int:
    """Part two: the flows the inspections missed, over the weeks of one family's help."""
    print("\n--- Part two: one family over time (case " + case + ") ---")
    _say(
        7,
        "The team, which opened and directs the case (procesregisseur), registers the school "
        "that referred the family in the case network (the provider is in it already) and the "
        "household's three children.",
    )
    await team.register_member(case, "school-de-es", role="referrer")
    await team.request(
        "PUT",
        f"/v1/cases/{case}/household",
        json_body={"children": [{"bsn": bsn, "child_ref": ref} for ref, bsn in SIBLINGS]},
    )
    print("   network: swt-denhelder, school-de-es (referrer), zorg-noord; children kind-1..3")

    _say(
        8,
        "The child (14) and a parent consent to the referral, to status updates for the "
        "school, to questions to the school and its answers, and to closure notices. The team "
        "records it; for the school's answers it does so as the director of the case.",
    )
    family = {"bsn": DEMO_BSN, "birth_date": birth_date}
    givers = [{"role": "subject"}, {"role": "custodian", "name": "J. de Vries"}]
    evidence = {"method": "written", "reference": "dossier 2026-0042, form 4"}
    await team.record_consent(
        {
            "subject": family,
            "given_by": givers,
            "evidence": evidence,
            "purposes": ["referral", "referrer-status", "information-request", "closure-notice"],
            "to": ["zorg-noord", "school-de-es"],
        }
    )
    await team.record_consent(
        {
            "subject": family,
            "given_by": givers,
            "evidence": evidence,
            "purposes": ["information-reply"],
            "from": ["school-de-es"],
            "to": ["swt-denhelder"],
            # The team directs the case: it records the family's agreement for the school's
            # reply, an exchange between two of the case's members.
            "case_id": case,
        }
    )

    _say(9, "The team refers the family to Zorgaanbieder Noord. The gateway now expects replies.")
    referral = await team.send(
        "referral", "zorg-noord", DEMO_BSN, _example(config, "referral"), case_id=case
    )
    _expectations(
        [
            {**e, "owed_to": "swt-denhelder", "status": "open"}
            for e in referral["expectations_opened"]
        ]
    )

    _say(10, "The provider starts the help (start-stop): that expectation closes.")
    start = {**_example(config, "start-stop"), "event": "start"}
    for key in ("end_date", "end_reason"):
        start.pop(key)
    started = await provider.send(
        "start-stop",
        "swt-denhelder",
        DEMO_BSN,
        start,
        case_id=case,
        in_reply_to=referral["exchange_id"],
    )
    print(f"   closed: {started.get('expectations_closed')}")

    _say(
        11,
        "The GI joins the case itself, as holder of a child-protection measure (OTS), citing "
        "the court's ruling (reported directly): its waiting-list status is due in 15 days. "
        "It reports, and the expectation closes.",
    )
    joined = await gi.register_member(
        case,
        "gi-noordholland",
        role="involved",
        reported_via="direct",
        measure={"type": "ots", "ruling": RULING},
    )
    _expectations(joined["expectations_opened"])
    seen = await school.case_network(case)
    print(
        "   the school lists the case network and sees: "
        + ", ".join(m["partner"] for m in seen["members"])
        + " (never that a GI or a care provider is involved)"
    )
    reported = await gi.send(
        "waiting-list-status",
        "swt-denhelder",
        DEMO_BSN,
        _example(config, "waiting-list-status"),
        case_id=case,
    )
    print(f"   closed: {reported.get('expectations_closed')}")

    _say(
        12,
        "The provider assesses the safety of two of the three children, one message each; the "
        "third it did not see, and reports it not assessed with a coded reason.",
    )
    closed = 0
    siblings = dict(SIBLINGS)
    for entry in _example(config, "safety-assessment")["children"]:
        # Each assessment is about its own child: it closes only what is owed about that child.
        assessed = await provider.send(
            "safety-assessment",
            "swt-denhelder",
            siblings[entry["child_ref"]],
            {"children": [entry]},
            case_id=case,
        )
        closed += len(assessed.get("expectations_closed", []))
        if entry["outcome"] == "not_assessed":
            print(f"   {entry['child_ref']}: not assessed ({entry['not_assessed_reason']})")
    print(f"   closed: {closed} of 3")

    _say(
        13,
        "The team tells the school that referred the family that help has started "
        "(one call: POST /v1/cases/{id}/referrer-status).",
    )
    told = await team.request(
        "POST",
        f"/v1/cases/{case}/referrer-status",
        json_body={"bsn": DEMO_BSN, "status": "help_started"},
    )
    print(f"   sent to {told['disclosures'][0]['recipient']} on {told['legal_basis']['type']}")

    _say(14, "The team asks the school about attendance and wellbeing.")
    asked = await team.send(
        "information-request",
        "school-de-es",
        DEMO_BSN,
        {"topics": ["attendance", "wellbeing"]},
        case_id=case,
    )
    print(f"   the school owes an answer by {asked['expectations_opened'][0]['due_at'][:10]}")

    _say(15, "The school answers a topic it was not asked about as well ...")
    reply = _example(config, "information-reply")
    try:
        await school.send(
            "information-reply",
            "swt-denhelder",
            DEMO_BSN,
            reply,
            case_id=case,
            in_reply_to=asked["exchange_id"],
        )
        print("   unexpectedly allowed")
        return 1
    except GatewayClientError as error:
        _refusal(error)
    reply["answers"] = [a for a in reply["answers"] if a["topic"] != "contact_with_parents"]
    answered = await school.send(
        "information-reply",
        "swt-denhelder",
        DEMO_BSN,
        reply,
        case_id=case,
        in_reply_to=asked["exchange_id"],
    )
    print(
        f"   ... and then only what was asked: delivered, closed "
        f"{answered.get('expectations_closed')}"
    )

    _say(16, "What the team is still owed (GET /v1/expectations):")
    open_items = await team.request("GET", "/v1/expectations", params={"status": "open"})
    _expectations(open_items["expectations"])

    _say(17, "Help ends: the team sends a closure notice to the whole case network.")
    closed = await team.send(
        "closure-notice",
        {"case_network": case},
        DEMO_BSN,
        _example(config, "closure-notice"),
        case_id=case,
    )
    for d in closed["disclosures"]:
        print(f"   delivered to {d['recipient']}")
    for r in closed.get("refused", []):
        print(f"   refused for {r['recipient']}: {r['code']} (missing: {r.get('missing_consent')})")

    _say(18, "Every recipient pulls and acknowledges its messages.")
    for client in (provider, team, school, gi):
        page = await client.inbox(limit=100)
        for message in page["messages"]:
            await client.ack(message["id"])
        print(f"   {client.partner_id}: {len(page['messages'])} message(s)")
    return 0


async def _veilig_thuis_story(
    config: Path, school: PartnerClient, team: PartnerClient, vt: PartnerClient
) -> int:
    """Part three: a report to Veilig Thuis under the reporting code, urgent, and its feedback."""
    print("\n--- Part three: a report to Veilig Thuis ---")
    _say(
        19,
        "Months later the school's intern begeleider sees a fresh bruise; the child tells of "
        "violence at home last night. Acute danger: under the reporting code the school reports "
        "to Veilig Thuis (Wmo 2015 art. 5.2.6: no consent needed). First it tries the social "
        "team, out of habit ...",
    )
    report = _example(config, "safety-report-vt")
    try:
        await school.send("safety-report-vt", "swt-denhelder", DEMO_BSN, report)
        print("   unexpectedly allowed")
        return 1
    except GatewayClientError as error:
        _refusal(error)
    sent = await school.send("safety-report-vt", "veiligthuis-nhn", DEMO_BSN, report)
    _show("legal basis", sent["legal_basis"])
    for e in sent["expectations_opened"]:
        print(f"   {e['owed_by']} owes {e['purpose']} by {e['due_at']}")

    _say(
        20,
        "Veilig Thuis's inbox: the acute report is marked urgent and listed on top (its webhook, "
        "if it had one, was poked at once). Unacknowledged within the hour, the gateway would "
        "escalate: a log entry, the school told, Veilig Thuis poked again every five minutes.",
    )
    page = await vt.inbox()
    for message in page["urgent"]:
        print(
            f"   URGENT {message['purpose']} from {message['from']['partner']}, acknowledge by "
            f"{message['acknowledge_by']}"
        )

    _say(21, "The triagist acknowledges it at once: the receipt the school is owed closes.")
    for message in page["messages"]:
        await vt.ack(message["id"])
    owed = await school.request("GET", "/v1/expectations", params={"status": "all"})
    _expectations([e for e in owed["expectations"] if e["origin_purpose"] == "safety-report-vt"])

    _say(
        22,
        "After its safety assessment Veilig Thuis tells the school what it does with the report "
        "(feedback to the reporter, in reply to the report only), and hands over to the team.",
    )
    feedback = await vt.send(
        "vt-feedback",
        "school-de-es",
        DEMO_BSN,
        _example(config, "vt-feedback"),
        in_reply_to=sent["exchange_id"],
    )
    print(f"   closed: {feedback.get('expectations_closed')}")
    for client in (school, team):
        inbox = await client.inbox(limit=100)
        for message in inbox["messages"]:
            if message["purpose"] == "vt-feedback":
                _show("the school reads", message["payload"])
            await client.ack(message["id"])
    return 0


async def _officer_checks(base: str, config: Path, gw: Any, index: int) -> int:
    officer = _client(base, config, gw.settings.id, "fg-denhelder", "privacy_officer")
    try:
        token = await officer.token()
        headers = {"Authorization": f"Bearer {token}"}
        size = 0
        for _ in range(50):  # the sequencer signs within a second; wait for it
            async with officer.session.get(base + "/v1/audit/checkpoint", headers=headers) as r:
                note = await r.text() if r.status == 200 else ""
            if note:
                checkpoint = open_checkpoint(note, gw.log_verifiers, origin=gw.settings.log_origin)
                size = checkpoint.size
                if size > index:
                    break
            await asyncio.sleep(0.1)
        else:
            print("   no checkpoint covered the entry in time")
            return 1
        print("   checkpoint (C2SP signed note):")
        for line in note.rstrip("\n").split("\n"):
            print(f"     {line}")
        proof = await officer.request(
            "GET", "/v1/audit/proof/inclusion", params={"index": str(index), "tree_size": str(size)}
        )
        leaf = await officer.session.get(f"{base}/v1/audit/entries/{index}/leaf", headers=headers)
        data = await leaf.read()
        verify_inclusion(
            leaf_hash(data),
            index,
            size,
            [base64.b64decode(h) for h in proof["hashes"]],
            checkpoint.root_hash,
        )
        print(
            f"   entry {index} is included in the signed tree of size {size}: "
            f"inclusion proof of {len(proof['hashes'])} hashes verified."
        )
        return 0
    finally:
        await officer.close()


def run_demo(config: Path, data: Path) -> int:
    """Play the story on the given config and data folder; 0 when it went as told."""
    return asyncio.run(_story(config.resolve(), data))
