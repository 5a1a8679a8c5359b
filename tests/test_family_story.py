"""The story of one family, over real HTTP: the social-domain workflows end to end.

The Jansen family has three children. The social team (swt-denhelder) registers the household
and refers the eldest, who is 13, to a care provider (zorg-noord); the referral opens the replies
the domain expects: a start message, evaluation feedback by the evaluation date and a safety
assessment for every child. A certified institution (gi-noordholland) joins the case and owes
its waiting-list status. The school (school-de-es) referred the family and hears where the case
stands; it answers the team's information request within the topics asked, and once breaks the
glass for a safety report that the privacy officer (fg-denhelder) then reviews. At the end the
team sends a closure notice to the whole case network, and only partners the family consented
to receive it.

Every step runs on a gateway whose clock is fixed on the story day; deadlines pass by moving
that clock, never by sleeping.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from gateway.client.http import GatewayClientError
from gateway.clock import FixedClock
from tests.conftest import Running, example
from tests.story_helpers import (
    CHILDREN,
    CUSTODIAN,
    ELDEST,
    EXTRA_PROVIDER,
    STORY_DAY,
    StoryClient,
    Town,
    entries_since,
    family_consent,
    list_expectations,
    post_with_status,
    refer_family,
    referral_payload,
    serve_wider_town,
)

TEN_DAYS_ON = "2026-12-05T10:00:00.000Z"
# The end of the evaluation date (2027-02-15) in Dutch winter time (UTC+1).
EVALUATION_DEADLINE = "2027-02-15T22:59:59.000Z"
JUSTIFICATION = "Kind vertelt vandaag op school over geweld thuis; het team moet het nu weten."
MELDCODE = {
    "interest_served": "De veiligheid van het kind thuis, vandaag nog.",
    "no_other_way": True,
    "consent_not_possible": "Toestemming vragen aan ouders brengt het kind nu in gevaar.",
    "proportionate": True,
    "minimal_information": True,
}


@pytest.fixture
async def town(running: Running) -> AsyncIterator[Town]:
    """The demo partners, on a gateway whose clock stands on the story day."""
    running.clock.moment = STORY_DAY
    partners = Town(running)
    await partners.open_case()
    yield partners
    await partners.close()


@pytest.fixture
async def wider_town(tmp_path: Path) -> AsyncIterator[Town]:
    """The demo partners plus a second care provider, zorg-zuid, on the story day."""
    async with serve_wider_town(tmp_path / "wider", FixedClock(STORY_DAY)) as partners:
        yield partners


def opened(answer: dict[str, Any], purpose: str) -> list[dict[str, Any]]:
    return [e for e in answer["expectations_opened"] if e["purpose"] == purpose]


def start_payload() -> dict[str, Any]:
    return {
        "assignment_number": "300201",
        "product": {"category": "45", "code": "45A13"},
        "event": "start",
        "start_date": "2026-11-30",
    }


async def join_case(team: StoryClient, case_id: str, partner: str, **body: Any) -> Any:
    return await team.request("PUT", f"/v1/cases/{case_id}/network/{partner}", json_body=body)


# -- The referral ---------------------------------------------------------------------------------


async def test_referring_a_13_year_old_needs_the_consent_of_the_child_and_a_custodian(
    town: Town,
) -> None:
    team = town("swt-denhelder")
    with pytest.raises(GatewayClientError) as without_consent:
        await team.send("referral", "zorg-noord", ELDEST.bsn, referral_payload(), case_id=town.case)
    assert (without_consent.value.status, without_consent.value.code) == (403, "consent_required")
    assert without_consent.value.details["missing_consent"]["to"] == "zorg-noord"

    custodian_alone = family_consent(["referral"], ["swt-denhelder"], ["zorg-noord"])
    custodian_alone["given_by"] = [CUSTODIAN]
    with pytest.raises(GatewayClientError) as too_few_givers:
        await team.record_consent(custodian_alone)
    assert (too_few_givers.value.status, too_few_givers.value.code) == (422, "consent_invalid")

    consent = await team.record_consent(
        family_consent(["referral"], ["swt-denhelder"], ["zorg-noord"])
    )
    status, referral = await post_with_status(
        team,
        "/v1/exchanges",
        {
            "purpose": "referral",
            "to": "zorg-noord",
            "subject": {"bsn": ELDEST.bsn},
            "case_id": town.case,
            "payload": referral_payload(),
        },
    )
    assert status == 201, referral
    assert referral["legal_basis"]["type"] == "consent"
    assert referral["consent_id"] == consent["consent_id"]
    assert [d["recipient"] for d in referral["disclosures"]] == ["zorg-noord"]


async def test_referral_opens_start_stop_evaluation_feedback_and_a_safety_assessment_per_child(
    town: Town,
) -> None:
    referral = await refer_family(town)

    expected = referral["expectations_opened"]
    assert sorted((e["purpose"], e["child_ref"], e["due_at"]) for e in expected) == [
        ("evaluation-feedback", None, EVALUATION_DEADLINE),
        ("safety-assessment", "kind-1", TEN_DAYS_ON),
        ("safety-assessment", "kind-2", TEN_DAYS_ON),
        ("safety-assessment", "kind-3", TEN_DAYS_ON),
        ("start-stop", None, TEN_DAYS_ON),
    ]
    assert {e["owed_by"] for e in expected} == {"zorg-noord"}
    ids = {e["expectation_id"] for e in expected}

    provider_view = await list_expectations(town("zorg-noord"), "open")
    assert {e["expectation_id"] for e in provider_view} == ids
    for item in provider_view:
        assert (item["direction"], item["owed_to"], item["status"]) == (
            "you_owe",
            "swt-denhelder",
            "open",
        )
        assert item["origin_exchange_id"] == referral["exchange_id"]
    team_view = await list_expectations(town("swt-denhelder"), "open")
    assert {e["expectation_id"] for e in team_view} == ids
    assert {e["direction"] for e in team_view} == {"owed_to_you"}


async def test_provider_starting_help_closes_the_start_stop_expectation(town: Town) -> None:
    referral = await refer_family(town)
    [start_stop] = opened(referral, "start-stop")
    provider = town("zorg-noord")

    started = await provider.send(
        "start-stop", "swt-denhelder", ELDEST.bsn, start_payload(), case_id=town.case
    )

    assert started["expectations_closed"] == [start_stop["expectation_id"]]
    closed = await list_expectations(town("swt-denhelder"), "closed")
    assert [(e["expectation_id"], e["status"], e["closed_by"]) for e in closed] == [
        (start_stop["expectation_id"], "closed", started["exchange_id"])
    ]
    still_open = await list_expectations(provider, "open")
    assert sorted(e["purpose"] for e in still_open) == [
        "evaluation-feedback",
        "safety-assessment",
        "safety-assessment",
        "safety-assessment",
    ]


# -- The certified institution's waiting-list status ----------------------------------------------


async def test_gi_joining_directly_owes_its_waiting_list_status_in_15_working_days_and_reporting_closes_it(
    town: Town,
) -> None:
    # Wednesday 25 November 2026 + 15 working days (the local agreement counts working days):
    # 26, 27, 30 Nov, 1-4, 7-11, 14-16 Dec.
    team, gi = town("swt-denhelder"), town("gi-noordholland")
    await join_case(team, town.case, "swt-denhelder", role="procesregisseur")

    joined = await join_case(
        team, town.case, "gi-noordholland", role="involved", reported_via="direct"
    )

    [owed] = joined["expectations_opened"]
    assert (owed["purpose"], owed["owed_by"], owed["owed_to"], owed["due_at"]) == (
        "waiting-list-status",
        "gi-noordholland",
        "swt-denhelder",
        "2026-12-16T10:00:00.000Z",
    )
    town.move_clock(days=14)
    [waiting] = await list_expectations(gi, "open")
    assert (waiting["expectation_id"], waiting["status"], waiting["direction"]) == (
        owed["expectation_id"],
        "open",
        "you_owe",
    )

    reported = await gi.send(
        "waiting-list-status",
        "swt-denhelder",
        ELDEST.bsn,
        example("waiting-list-status"),
        case_id=town.case,
    )

    assert reported["expectations_closed"] == [owed["expectation_id"]]
    [closed] = await list_expectations(team, "closed")
    assert (closed["expectation_id"], closed["closed_by"]) == (
        owed["expectation_id"],
        reported["exchange_id"],
    )
    assert await list_expectations(team, "open") == []


async def test_gi_case_from_the_beschermingstafel_is_due_in_5_working_days_and_overdue_after(
    town: Town,
) -> None:
    team, gi = town("swt-denhelder"), town("gi-noordholland")
    second_case = (await team.open_case())["case_id"]
    for case_id in (town.case, second_case):
        await join_case(team, case_id, "swt-denhelder", role="procesregisseur")
    direct = await join_case(team, town.case, "gi-noordholland", reported_via="direct")
    via_table = await join_case(
        team, second_case, "gi-noordholland", reported_via="beschermingstafel"
    )
    [table_owed] = via_table["expectations_opened"]
    # Wednesday 25 November + 5 working days: Thursday, Friday, Monday, Tuesday, Wednesday.
    assert table_owed["due_at"] == "2026-12-02T10:00:00.000Z"

    town.move_clock(days=6)  # Tuesday 1 December: the weekend did not count
    assert await list_expectations(team, "overdue", second_case) == []
    town.move_clock(days=2)

    [late_for_team] = await list_expectations(team, "overdue", second_case)
    assert (late_for_team["expectation_id"], late_for_team["direction"]) == (
        table_owed["expectation_id"],
        "owed_to_you",
    )
    [late_for_gi] = await list_expectations(gi, "overdue", second_case)
    assert (late_for_gi["expectation_id"], late_for_gi["direction"], late_for_gi["status"]) == (
        table_owed["expectation_id"],
        "you_owe",
        "overdue",
    )
    # The direct case of the same day has 15 days, so it is still merely open.
    assert await list_expectations(team, "overdue", town.case) == []
    [direct_owed] = await list_expectations(team, "open", town.case)
    assert direct_owed["expectation_id"] == direct["expectations_opened"][0]["expectation_id"]
    assert direct_owed["status"] == "open"


# -- Safety assessed per child --------------------------------------------------------------------


async def test_safety_assessment_of_two_children_closes_theirs_and_leaves_the_third_overdue(
    town: Town,
) -> None:
    referral = await refer_family(town)
    per_child = {e["child_ref"]: e["expectation_id"] for e in opened(referral, "safety-assessment")}
    provider, team = town("zorg-noord"), town("swt-denhelder")
    payload = example("safety-assessment")
    # The example's third child is reported not assessed: this story assesses the first two.
    assert [c["child_ref"] for c in payload["children"][:2]] == ["kind-1", "kind-2"]

    # One assessment per child, each about that child: a message about one child closes only
    # what is owed about that child.
    assessed = {}
    for child, entry in zip(CHILDREN[:2], payload["children"][:2], strict=True):
        assessed[child.child_ref] = await provider.send(
            "safety-assessment",
            "swt-denhelder",
            child.bsn,
            {"children": [entry]},
            case_id=town.case,
        )

    for child_ref in ("kind-1", "kind-2"):
        assert assessed[child_ref]["expectations_closed"] == [per_child[child_ref]]
    closed = await list_expectations(team, "closed")
    assert sorted((e["child_ref"], e["closed_by"]) for e in closed) == [
        ("kind-1", assessed["kind-1"]["exchange_id"]),
        ("kind-2", assessed["kind-2"]["exchange_id"]),
    ]
    town.move_clock(days=9)
    assert await list_expectations(provider, "overdue") == []
    town.move_clock(days=2)
    overdue = [
        e
        for e in await list_expectations(provider, "overdue")
        if e["purpose"] == "safety-assessment"
    ]
    assert [(e["child_ref"], e["expectation_id"], e["direction"]) for e in overdue] == [
        ("kind-3", per_child["kind-3"], "you_owe")
    ]
    team_overdue = [
        e for e in await list_expectations(team, "overdue") if e["purpose"] == "safety-assessment"
    ]
    assert [(e["child_ref"], e["direction"]) for e in team_overdue] == [("kind-3", "owed_to_you")]


# -- Evaluation feedback --------------------------------------------------------------------------


async def test_evaluation_feedback_in_reply_to_the_referral_closes_the_feedback_expectation(
    town: Town,
) -> None:
    referral = await refer_family(town)
    [feedback_owed] = opened(referral, "evaluation-feedback")
    town.move_clock(days=80)

    feedback = await town("zorg-noord").send(
        "evaluation-feedback",
        "swt-denhelder",
        ELDEST.bsn,
        example("evaluation-feedback"),
        in_reply_to=referral["exchange_id"],
    )

    assert feedback["expectations_closed"] == [feedback_owed["expectation_id"]]
    closed = await list_expectations(town("swt-denhelder"), "closed")
    assert [(e["purpose"], e["closed_by"]) for e in closed] == [
        ("evaluation-feedback", feedback["exchange_id"])
    ]


# -- Closing the case: fan-out to the network -----------------------------------------------------


async def test_closure_notice_to_the_case_network_reaches_the_consented_partners_only(
    wider_town: Town,
) -> None:
    team = wider_town("swt-denhelder")
    roles = {
        "swt-denhelder": "procesregisseur",
        "zorg-noord": "involved",
        "gi-noordholland": "involved",
        "school-de-es": "referrer",
        EXTRA_PROVIDER: "involved",
    }
    for partner, role in roles.items():
        await join_case(team, wider_town.case, partner, role=role)
    consent = await team.record_consent(
        family_consent(
            ["closure-notice"],
            ["swt-denhelder"],
            ["zorg-noord", "gi-noordholland", "kind:school"],
        )
    )
    running = wider_town.running
    before = await running.gw.storage.log_size()

    status, sent = await post_with_status(
        team,
        "/v1/exchanges",
        {
            "purpose": "closure-notice",
            "to": {"case_network": wider_town.case},
            "subject": {"bsn": ELDEST.bsn},
            "case_id": wider_town.case,
            "payload": example("closure-notice"),
        },
    )

    assert status == 201, sent
    assert (sent["legal_basis"]["type"], sent["consent_id"]) == ("consent", consent["consent_id"])
    delivered = {d["recipient"]: d for d in sent["disclosures"]}
    assert set(delivered) == {"zorg-noord", "gi-noordholland", "school-de-es"}
    refused = {r["recipient"]: r for r in sent["refused"]}
    assert set(refused) == {EXTRA_PROVIDER}
    assert refused[EXTRA_PROVIDER]["code"] == "consent_required"
    assert refused[EXTRA_PROVIDER]["missing_consent"] == {
        "purpose": "closure-notice",
        "from": "swt-denhelder",
        "to": EXTRA_PROVIDER,
        "given_by": ["subject", "custodian"],
    }
    # The sender is a member of its own case network: it is not a recipient, nor refused.

    log = await entries_since(running, before)
    mine = {i: e for i, e in log.items() if e.exchange_id == sent["exchange_id"]}
    disclosed = {e.recipient: (i, e) for i, e in mine.items() if e.decision == "disclosed"}
    assert set(disclosed) == set(delivered)
    for recipient, (index, entry) in disclosed.items():
        assert index == delivered[recipient]["log_index"]
        assert entry.disclosure_id == delivered[recipient]["disclosure_id"]
        assert (entry.reason, entry.consent_id, entry.case_id) == (
            "consent",
            consent["consent_id"],
            wider_town.case,
        )
    refusals = {e.recipient: e for e in mine.values() if e.decision == "refused"}
    assert {r: e.reason for r, e in refusals.items()} == {
        EXTRA_PROVIDER: "consent_required",
    }
    assert refusals[EXTRA_PROVIDER].details["missing_consent"]["to"] == EXTRA_PROVIDER
    assert len(mine) == 4

    for recipient in delivered:
        [message] = (await wider_town(recipient).inbox())["messages"]
        assert (message["exchange_id"], message["purpose"], message["case_id"]) == (
            sent["exchange_id"],
            "closure-notice",
            wider_town.case,
        )
        assert message["from"]["partner"] == "swt-denhelder"
        assert message["payload"] == example("closure-notice")
    assert (await wider_town(EXTRA_PROVIDER).inbox())["messages"] == []


# -- Status for the school that referred ----------------------------------------------------------


async def school_is_the_referrer(town: Town, *, consent: bool) -> StoryClient:
    team = town("swt-denhelder")
    await join_case(team, town.case, "swt-denhelder", role="procesregisseur")
    await join_case(team, town.case, "school-de-es", role="referrer")
    if consent:
        await team.record_consent(
            family_consent(["referrer-status"], ["swt-denhelder"], ["school-de-es"])
        )
    return team


async def test_referrer_status_needs_the_familys_consent(town: Town) -> None:
    team = await school_is_the_referrer(town, consent=False)
    with pytest.raises(GatewayClientError) as refused:
        await team.request(
            "POST",
            f"/v1/cases/{town.case}/referrer-status",
            json_body={"bsn": ELDEST.bsn, "status": "help_started"},
        )
    assert (refused.value.status, refused.value.code) == (403, "consent_required")
    assert refused.value.details["missing_consent"]["to"] == "school-de-es"
    assert (await town("school-de-es").inbox())["messages"] == []


async def test_referring_school_hears_that_help_started_and_what_is_expected_of_it(
    town: Town,
) -> None:
    team = await school_is_the_referrer(town, consent=True)
    action = "Graag de intern begeleider uitnodigen voor het netwerkoverleg van 3 december."

    status, started = await post_with_status(
        team,
        f"/v1/cases/{town.case}/referrer-status",
        {"bsn": ELDEST.bsn, "status": "help_started"},
    )
    asked = await team.request(
        "POST",
        f"/v1/cases/{town.case}/referrer-status",
        json_body={
            "bsn": ELDEST.bsn,
            "status": "action_expected_from_you",
            "action_description": action,
        },
    )

    assert status == 201, started
    assert [d["recipient"] for d in started["disclosures"]] == ["school-de-es"]
    assert started["legal_basis"]["type"] == "consent"
    messages = (await town("school-de-es").inbox())["messages"]
    assert [(m["exchange_id"], m["purpose"], m["case_id"], m["payload"]) for m in messages] == [
        (started["exchange_id"], "referrer-status", town.case, {"status": "help_started"}),
        (
            asked["exchange_id"],
            "referrer-status",
            town.case,
            {"status": "action_expected_from_you", "action_description": action},
        ),
    ]


async def test_referrer_status_with_a_too_long_action_description_is_refused(
    town: Town,
) -> None:
    team = await school_is_the_referrer(town, consent=True)
    with pytest.raises(GatewayClientError) as refused:
        await team.request(
            "POST",
            f"/v1/cases/{town.case}/referrer-status",
            json_body={
                "bsn": ELDEST.bsn,
                "status": "action_expected_from_you",
                "action_description": "Graag contact opnemen. " * 10,
            },
        )
    assert refused.value.status == 422
    assert refused.value.code == "schema_violation"
    paths = [v["path"] for v in refused.value.details["violations"]]
    assert paths == ["/payload/action_description"]
    assert (await town("school-de-es").inbox())["messages"] == []


# -- The team asks the school ---------------------------------------------------------------------


async def ask_the_school(town: Town) -> dict[str, Any]:
    """Consent both ways, then the team asks about attendance and wellbeing only."""
    team = town("swt-denhelder")
    # The team directs the case, so it may record the family's agreement for the school's reply.
    await join_case(team, town.case, "swt-denhelder", role="procesregisseur")
    await join_case(team, town.case, "school-de-es", role="referrer")
    # A consent recorded for the case covers the case's own children: the eldest is registered.
    await team.request(
        "PUT",
        f"/v1/cases/{town.case}/household",
        json_body={"children": [{"bsn": ELDEST.bsn, "child_ref": ELDEST.child_ref}]},
    )
    await team.record_consent(
        {
            **family_consent(
                ["information-request", "information-reply"],
                ["swt-denhelder", "school-de-es"],
                ["school-de-es", "swt-denhelder"],
            ),
            "case_id": town.case,
        }
    )
    request: dict[str, Any] = await team.send(
        "information-request",
        "school-de-es",
        ELDEST.bsn,
        {"topics": ["attendance", "wellbeing"], "reply_by": "2026-12-04"},
        case_id=town.case,
    )
    [owed] = request["expectations_opened"]
    # Due by the request's own reply_by date: the end of that day in Dutch time.
    assert (owed["purpose"], owed["owed_by"], owed["due_at"]) == (
        "information-reply",
        "school-de-es",
        "2026-12-04T22:59:59.000Z",
    )
    return request


def answers(*topics: str) -> dict[str, Any]:
    return {"answers": [{"topic": t, "answer": "no_concerns"} for t in topics]}


async def test_information_reply_within_the_topics_asked_closes_the_request(town: Town) -> None:
    request = await ask_the_school(town)
    school = town("school-de-es")
    reply_body = {
        "purpose": "information-reply",
        "to": "swt-denhelder",
        "subject": {"bsn": ELDEST.bsn},
        "case_id": town.case,
        "in_reply_to": request["exchange_id"],
        "payload": answers("attendance", "wellbeing"),
    }

    status, reply = await post_with_status(school, "/v1/exchanges", reply_body)

    assert status == 201, reply
    assert reply["expectations_closed"] == [request["expectations_opened"][0]["expectation_id"]]
    [message] = (await town("swt-denhelder").inbox())["messages"]
    assert (message["purpose"], message["in_reply_to"]) == (
        "information-reply",
        request["exchange_id"],
    )
    # A request is answered once: a second reply has no open request left to answer.
    with pytest.raises(GatewayClientError) as again:
        await school.request("POST", "/v1/exchanges", json_body=reply_body)
    assert (again.value.status, again.value.code) == (400, "invalid_request")


async def test_information_reply_about_a_topic_not_asked_is_not_minimal(town: Town) -> None:
    request = await ask_the_school(town)
    school = town("school-de-es")

    with pytest.raises(GatewayClientError) as refused:
        await school.send(
            "information-reply",
            "swt-denhelder",
            ELDEST.bsn,
            answers("attendance", "wellbeing", "safety_signals"),
            case_id=town.case,
            in_reply_to=request["exchange_id"],
        )

    assert (refused.value.status, refused.value.code) == (422, "payload_not_minimal")
    assert [v["path"] for v in refused.value.details["violations"]] == ["/payload/answers/2"]
    [still_owed] = await list_expectations(school, "open")
    assert still_owed["expectation_id"] == request["expectations_opened"][0]["expectation_id"]
    assert (await town("swt-denhelder").inbox())["messages"] == []


async def test_information_reply_without_in_reply_to_is_an_invalid_request(town: Town) -> None:
    await ask_the_school(town)
    school = town("school-de-es")

    with pytest.raises(GatewayClientError) as refused:
        await school.send(
            "information-reply",
            "swt-denhelder",
            ELDEST.bsn,
            answers("attendance"),
            case_id=town.case,
        )

    assert (refused.value.status, refused.value.code) == (400, "invalid_request")
    assert len(await list_expectations(school, "open")) == 1
    assert (await town("swt-denhelder").inbox())["messages"] == []


# -- Breaking the glass ---------------------------------------------------------------------------


def break_glass(**answers: object) -> dict[str, Any]:
    return {"justification": JUSTIFICATION, "meldcode": {**MELDCODE, **answers}}


async def test_school_breaking_the_glass_for_a_safety_report_is_logged_and_reviewed_by_the_officer(
    running: Running, town: Town
) -> None:
    school, officer = town("school-de-es"), town("fg-denhelder")
    youngest = CHILDREN[2]
    before = await running.gw.storage.log_size()

    sent = await school.send(
        "safety-report",
        "swt-denhelder",
        youngest.bsn,
        example("safety-report"),
        break_glass=break_glass(),
    )

    assert sent["legal_basis"]["type"] == "break_glass"
    assert sent["break_glass"] == {"review": "pending"}
    [(index, entry)] = (await entries_since(running, before)).items()
    assert index == sent["disclosures"][0]["log_index"]
    assert (entry.decision, entry.recipient, entry.break_glass) == (
        "disclosed",
        "swt-denhelder",
        True,
    )
    assert entry.legal_basis is not None
    assert entry.legal_basis["type"] == "break_glass"
    # The conflict of duties, not the agreement the report otherwise needs (issue 19).
    assert entry.legal_basis["reference"].startswith("AVG art. 6 lid 1 sub d;")
    [message] = (await town("swt-denhelder").inbox())["messages"]
    assert (message["exchange_id"], message["subject"]) == (
        sent["exchange_id"],
        {"bsn": youngest.bsn},
    )

    queue = await officer.request("GET", "/v1/audit/break-glass", params={"status": "pending"})
    [pending] = queue["break_glass"]
    assert (pending["exchange_id"], pending["sender"], pending["purpose"]) == (
        sent["exchange_id"],
        "school-de-es",
        "safety-report",
    )
    assert (pending["justification"], pending["meldcode"]) == (JUSTIFICATION, MELDCODE)

    review = await officer.request(
        "POST",
        f"/v1/audit/break-glass/{sent['exchange_id']}/review",
        json_body={"justified": True, "note": "Acuut signaal; melden zonder toestemming paste."},
    )

    assert review["status"] == "justified"
    [reviewed] = await running.gw.storage.log_rows(review["log_index"], review["log_index"] + 1)
    assert (reviewed.entry.decision, reviewed.entry.reason, reviewed.entry.exchange_id) == (
        "break_glass_reviewed",
        "justified",
        sent["exchange_id"],
    )
    assert reviewed.entry.sender is not None
    assert reviewed.entry.sender.partner == "fg-denhelder"
    queue = await officer.request("GET", "/v1/audit/break-glass", params={"status": "pending"})
    assert queue["break_glass"] == []


async def test_break_glass_on_evaluation_feedback_is_refused_as_not_allowed(
    running: Running, town: Town
) -> None:
    before = await running.gw.storage.log_size()
    with pytest.raises(GatewayClientError) as refused:
        await town("zorg-noord").send(
            "evaluation-feedback",
            "swt-denhelder",
            ELDEST.bsn,
            example("evaluation-feedback"),
            break_glass=break_glass(),
        )
    assert (refused.value.status, refused.value.code) == (403, "break_glass_not_allowed")
    logged = list((await entries_since(running, before)).values())
    assert [(e.decision, e.reason, e.break_glass) for e in logged] == [
        ("refused", "break_glass_not_allowed", True)
    ]
    assert (await town("swt-denhelder").inbox())["messages"] == []


async def test_break_glass_failing_its_own_meldcode_answers_is_an_invalid_request(
    running: Running, town: Town
) -> None:
    before = await running.gw.storage.log_size()
    with pytest.raises(GatewayClientError) as refused:
        await town("school-de-es").send(
            "safety-report",
            "swt-denhelder",
            ELDEST.bsn,
            example("safety-report"),
            break_glass=break_glass(proportionate=False),
        )
    assert (refused.value.status, refused.value.code) == (400, "invalid_request")
    assert "proportionate" in refused.value.message
    assert await running.gw.storage.log_size() == before
    assert (await town("swt-denhelder").inbox())["messages"] == []
    queue = await town("fg-denhelder").request("GET", "/v1/audit/break-glass")
    assert queue["break_glass"] == []


async def test_a_referral_without_a_registered_household_still_expects_the_childs_assessment(
    town: Town,
) -> None:
    team = town("swt-denhelder")
    await team.record_consent(family_consent(["referral"], ["swt-denhelder"], ["zorg-noord"]))
    sent = await team.send(
        "referral", "zorg-noord", ELDEST.bsn, referral_payload(), case_id=town.case
    )
    assessments = [e for e in sent["expectations_opened"] if e["purpose"] == "safety-assessment"]
    assert [(e["owed_by"], e["child_ref"]) for e in assessments] == [("zorg-noord", None)]
    assert any("household" in w for w in sent["warnings"])
