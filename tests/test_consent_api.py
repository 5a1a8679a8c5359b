"""`/v1/consents` over real HTTP: recording, the age rules at their birthdays, withdrawal, scope.

The gateway's clock is pinned to fixed dates (and moved) so that birthdays fall exactly on the
exchange date; clients sign their assertions at that clock.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from gateway.client.http import GatewayClientError
from tests.conftest import BSN_CHILD, Running, example
from tests.helpers import (
    ClockedClients,
    Http,
    assert_contract_error,
    log_entries,
    valid_bsn,
)

# 10:00 UTC is 11:00 in Amsterdam: the same calendar date in both.
EXCHANGE_DAY = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
CUSTODIAN = "Marieke Jansen"
CHILD = "Noor Jansen"


@pytest.fixture
async def clocked(running: Running) -> AsyncIterator[ClockedClients]:
    running.clock.moment = EXCHANGE_DAY
    pool = ClockedClients(running)
    yield pool
    await pool.close()


@pytest.fixture
async def http(running: Running) -> AsyncIterator[Http]:
    running.clock.moment = EXCHANGE_DAY
    async with aiohttp.ClientSession() as session:
        yield Http(running, session)


def consent_body(
    bsn: str,
    birth_date: str,
    givers: Sequence[str],
    *,
    purposes: Sequence[str] = ("information-request",),
    to: Sequence[str] = ("school-de-es",),
) -> dict[str, Any]:
    names = {"subject": CHILD, "custodian": CUSTODIAN}
    return {
        "subject": {"bsn": bsn, "birth_date": birth_date},
        "given_by": [{"role": role, "name": names[role]} for role in givers],
        "purposes": list(purposes),
        "to": list(to),
        "evidence": {"method": "written", "reference": "dossier-2026-0042"},
    }


async def test_recording_consent_answers_201_with_an_active_consent(
    running: Running, http: Http
) -> None:
    token = await http.token("swt-denhelder")
    before = await running.gw.storage.log_size()
    answer = await http.call(
        "POST",
        "/v1/consents",
        token=token,
        json_body=consent_body(valid_bsn(1), "1990-01-01", ["subject"]),
    )
    assert answer.status == 201, answer.text
    assert answer.body["status"] == "active"
    assert answer.body["consent_id"]
    entries = await log_entries(running, before)
    assert [(e.decision, e.consent_id) for e in entries] == [
        ("consent_recorded", answer.body["consent_id"])
    ]


# birth date, givers, accepted on EXCHANGE_DAY (2026-11-25)
AGE_BOUNDARIES = {
    "12th_birthday_custodian_alone": ("2014-11-25", ["custodian"], False),
    "12th_birthday_child_and_custodian": ("2014-11-25", ["subject", "custodian"], True),
    "day_before_12th_birthday_custodian_alone": ("2014-11-26", ["custodian"], True),
    "16th_birthday_subject_alone": ("2010-11-25", ["subject"], True),
    "day_before_16th_birthday_subject_alone": ("2010-11-26", ["subject"], False),
    "day_before_16th_birthday_child_and_custodian": ("2010-11-26", ["subject", "custodian"], True),
}


async def test_age_rules_hold_exactly_at_the_12th_and_16th_birthday(
    running: Running, http: Http, subtests: pytest.Subtests
) -> None:
    token = await http.token("swt-denhelder")
    for seed, (name, (birth_date, givers, accepted)) in enumerate(AGE_BOUNDARIES.items()):
        with subtests.test(msg=name):
            body = consent_body(valid_bsn(seed), birth_date, givers)
            answer = await http.call("POST", "/v1/consents", token=token, json_body=body)
            if accepted:
                assert answer.status == 201, answer.text
                assert answer.body["status"] == "active"
            else:
                error = assert_contract_error(answer, 422, "consent_invalid")
                assert birth_date not in answer.text
                assert CUSTODIAN not in answer.text
                assert error["how_to_fix"]


async def test_age_rules_follow_the_dutch_calendar_date_not_utc(
    running: Running, http: Http
) -> None:
    # 23:30 UTC on the 24th is 00:30 on the 25th in Amsterdam: the 12th birthday has begun.
    running.clock.moment = datetime(2026, 11, 24, 23, 30, tzinfo=UTC)
    token = await http.token("swt-denhelder")
    body = consent_body(valid_bsn(1), "2014-11-25", ["custodian"])
    answer = await http.call("POST", "/v1/consents", token=token, json_body=body)
    assert_contract_error(answer, 422, "consent_invalid")


async def test_custodian_consent_for_an_eleven_year_old_stops_covering_on_the_12th_birthday(
    running: Running, clocked: ClockedClients
) -> None:
    running.clock.moment = EXCHANGE_DAY - timedelta(days=1)
    bsn = valid_bsn(7)
    team = clocked("swt-denhelder")
    recorded = await team.record_consent(consent_body(bsn, "2014-11-25", ["custodian"]))
    sent = await team.send(
        "information-request", "school-de-es", bsn, example("information-request")
    )
    assert sent["legal_basis"]["type"] == "consent"
    assert sent["consent_id"] == recorded["consent_id"]

    running.clock.moment = EXCHANGE_DAY
    with pytest.raises(GatewayClientError) as refused:
        await team.send("information-request", "school-de-es", bsn, example("information-request"))
    assert refused.value.status == 403
    assert refused.value.code == "consent_required"
    missing = refused.value.details["missing_consent"]
    assert missing == {
        "purpose": "information-request",
        "from": "swt-denhelder",
        "to": "school-de-es",
        "given_by": ["subject", "custodian"],
    }


async def test_withdrawal_refuses_the_very_next_exchange(
    running: Running, clocked: ClockedClients
) -> None:
    bsn = valid_bsn(3)
    team = clocked("swt-denhelder")
    recorded = await team.record_consent(consent_body(bsn, "1990-01-01", ["subject"]))
    await team.send("information-request", "school-de-es", bsn, example("information-request"))
    before = await running.gw.storage.log_size()
    withdrawn = await team.withdraw_consent(recorded["consent_id"])
    assert withdrawn["status"] == "withdrawn"
    assert withdrawn["consent_id"] == recorded["consent_id"]
    entries = await log_entries(running, before)
    assert [(e.decision, e.consent_id) for e in entries] == [
        ("consent_withdrawn", recorded["consent_id"])
    ]
    with pytest.raises(GatewayClientError) as refused:
        await team.send("information-request", "school-de-es", bsn, example("information-request"))
    assert refused.value.code == "consent_required"
    # Only the exchange sent before the withdrawal reached the school.
    waiting = await running.gw.storage.inbox_page("school-de-es", after=0, limit=10)
    assert len(waiting) == 1


async def test_listing_shows_withdrawn_status_never_the_birth_date_and_names_only_to_the_recorder(
    clocked: ClockedClients, http: Http
) -> None:
    bsn = valid_bsn(4)
    team = clocked("swt-denhelder")
    body = consent_body(bsn, "2012-03-14", ["subject", "custodian"])
    recorded = await team.record_consent(body)
    await team.withdraw_consent(recorded["consent_id"])
    answer = await http.call(
        "GET", "/v1/consents", token=await http.token("swt-denhelder"), params={"bsn": bsn}
    )
    assert answer.status == 200, answer.text
    text = answer.text
    listed = json.loads(text)["consents"]
    assert [(c["consent_id"], c["status"]) for c in listed] == [
        (recorded["consent_id"], "withdrawn")
    ]
    assert "birth_date" not in listed[0]
    # The recorder took the names down itself: it sees them (as in the FHIR form), nobody else.
    assert sorted((g["role"], g.get("name")) for g in listed[0]["given_by"]) == [
        ("custodian", CUSTODIAN),
        ("subject", CHILD),
    ]
    for secret in ("2012-03-14", bsn):
        assert secret not in text
    recipient = await http.call(
        "GET", "/v1/consents", token=await http.token("school-de-es"), params={"bsn": bsn}
    )
    assert recipient.status == 200, recipient.text
    [seen] = recipient.body["consents"]
    assert all(set(g) == {"role"} for g in seen["given_by"])
    for secret in ("2012-03-14", CUSTODIAN, CHILD, bsn):
        assert secret not in recipient.text


async def test_partner_not_involved_in_a_consent_cannot_withdraw_it(
    running: Running, clocked: ClockedClients
) -> None:
    bsn = valid_bsn(5)
    team = clocked("swt-denhelder")
    recorded = await team.record_consent(consent_body(bsn, "1990-01-01", ["subject"]))
    outsider = clocked("gi-noordholland")
    before = await running.gw.storage.log_size()
    with pytest.raises(GatewayClientError) as refused:
        await outsider.withdraw_consent(recorded["consent_id"])
    assert refused.value.status == 404
    assert refused.value.code == "not_found"
    assert await running.gw.storage.log_size() == before
    sent = await team.send(
        "information-request", "school-de-es", bsn, example("information-request")
    )
    assert sent["consent_id"] == recorded["consent_id"]


async def test_recipient_in_scope_may_not_withdraw_for_the_person(
    clocked: ClockedClients,
) -> None:
    bsn = valid_bsn(6)
    team = clocked("swt-denhelder")
    recorded = await team.record_consent(consent_body(bsn, "1990-01-01", ["subject"]))
    with pytest.raises(GatewayClientError) as refused:
        await clocked("school-de-es").withdraw_consent(recorded["consent_id"])
    assert refused.value.status == 403
    assert refused.value.code == "forbidden"


async def test_kind_scope_covers_every_partner_of_that_kind_and_no_other(
    clocked: ClockedClients,
) -> None:
    bsn = valid_bsn(8)
    team = clocked("swt-denhelder")
    recorded = await team.record_consent(
        consent_body(bsn, "1990-01-01", ["subject"], to=["kind:school"])
    )
    sent = await team.send(
        "information-request", "school-de-es", bsn, example("information-request")
    )
    assert sent["legal_basis"]["type"] == "consent"
    assert sent["consent_id"] == recorded["consent_id"]
    with pytest.raises(GatewayClientError) as refused:
        await team.send("information-request", "zorg-noord", bsn, example("information-request"))
    assert refused.value.code == "consent_required"


async def test_a_consent_recorded_after_dutch_midnight_but_before_utc_midnight_is_active_at_once(
    running: Running,
) -> None:
    """At 23:30 UTC it is already the next day in the Netherlands: the consent starts on that
    Dutch date, and its listing, FHIR form and the answer to recording it all say `active`."""
    running.clock.moment = datetime(2026, 12, 7, 23, 30, tzinfo=UTC)
    team = running.client("swt-denhelder")
    try:
        recorded = await team.record_consent(
            {
                "subject": {"bsn": BSN_CHILD, "birth_date": "2000-01-01"},
                "given_by": [{"role": "subject"}],
                "purposes": ["closure-notice"],
                "to": ["school-de-es"],
                "evidence": {"method": "written", "reference": "form 1"},
            }
        )
        listed = await team.request("GET", "/v1/consents", params={"bsn": BSN_CHILD})
        fhir = await team.request("GET", f"/v1/consents/{recorded['consent_id']}/fhir")
    finally:
        await team.close()
    assert recorded["status"] == "active"
    assert [c["status"] for c in listed["consents"]] == ["active"]
    assert [c["valid_from"] for c in listed["consents"]] == ["2026-12-08"]
    assert fhir["status"] == "active"
