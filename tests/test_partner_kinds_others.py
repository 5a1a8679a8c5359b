"""The other partner kinds of issue 19: GP, youth health care, leerplicht, Work and Income, the
Child Protection Board, each with its roles and the purposes it may send, over real HTTP on SQLite
and PostgreSQL: one exchange each purpose and direction allows, one it refuses.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from gateway.client.http import GatewayClientError
from tests.conftest import BSN_CHILD, Running, example
from tests.helpers import ClockedClients, Http, log_entries

GP = "huisarts-zuid"
JGZ = "jgz-hollandsnoorden"
LEERPLICHT = "leerplicht-denhelder"
WI = "wi-denhelder"
BOARD = "rvdk-noordholland"


@pytest.fixture
async def made(running: Running) -> AsyncIterator[ClockedClients]:
    clients = ClockedClients(running)
    yield clients
    await clients.close()


@pytest.fixture
async def http(running: Running) -> AsyncIterator[Http]:
    async with aiohttp.ClientSession() as session:
        yield Http(running, session)


async def refused(call: Any) -> GatewayClientError:
    with pytest.raises(GatewayClientError) as raised:
        await call
    return raised.value


def agreement(sender: str, recipient: str) -> dict[str, Any]:
    """The patient's (a 17-year-old's) agreement to the referral, recorded by the physician."""
    return {
        "subject": {"bsn": BSN_CHILD, "birth_date": "2009-03-01"},
        "given_by": [{"role": "subject"}],
        "purposes": ["medical-referral"],
        "from": [sender],
        "to": [recipient],
        "evidence": {"method": "verbal", "reference": "consult 2026-12-01"},
    }


# -- actor roles per kind -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("partner", "role"),
    [
        (GP, "huisarts"),
        (GP, "poh_jeugd"),
        (JGZ, "jeugdarts"),
        (JGZ, "jeugdverpleegkundige"),
        (LEERPLICHT, "leerplichtambtenaar"),
        (WI, "klantmanager"),
        (BOARD, "raadsonderzoeker"),
        ("veiligthuis-nhn", "veilig_thuis_medewerker"),
    ],
)
async def test_each_new_kind_gets_a_token_for_its_own_roles(
    http: Http, partner: str, role: str
) -> None:
    answer = await http.post_token(http.assertion(partner, role))
    assert answer.status == 200, answer.text


@pytest.mark.parametrize(
    ("partner", "role"),
    [(WI, "huisarts"), (LEERPLICHT, "procesregisseur"), (BOARD, "jeugdarts"), (GP, "triagist")],
)
async def test_an_actor_claiming_a_role_of_another_kind_gets_no_token(
    http: Http, partner: str, role: str
) -> None:
    answer = await http.post_token(http.assertion(partner, role))
    assert (answer.status, answer.body["error"]) == (400, "invalid_client")


# -- medical-referral: GP and JGZ, with the patient's agreement -----------------------------------


@pytest.mark.parametrize(
    ("sender", "role", "recipient", "article"),
    [
        (GP, "huisarts", "zorg-noord", "Jeugdwet art. 2.6 lid 1 sub g"),
        (JGZ, "jeugdarts", "zorg-noord", "Wet publieke gezondheid art. 5"),
        (GP, "poh_jeugd", "swt-denhelder", "BW art. 7:457 lid 1"),
    ],
)
async def test_a_physician_refers_with_the_patients_agreement_and_not_without(
    running: Running, made: ClockedClients, sender: str, role: str, recipient: str, article: str
) -> None:
    physician = made(sender, role)
    payload = example("medical-referral")
    missing = await refused(physician.send("medical-referral", recipient, BSN_CHILD, payload))
    assert missing.code == "consent_required"
    recorded = await physician.record_consent(agreement(sender, recipient))
    sent = await physician.send("medical-referral", recipient, BSN_CHILD, payload)
    assert sent["consent_id"] == recorded["consent_id"]
    assert article in sent["legal_basis"]["reference"]
    entries = [e for e in await log_entries(running) if e.purpose == "medical-referral"]
    assert [e.decision for e in entries] == ["refused", "disclosed"]


async def test_a_gp_cannot_refer_a_child_to_a_school(made: ClockedClients) -> None:
    gp = made(GP, "huisarts")
    error = await refused(
        gp.send("medical-referral", "school-de-es", BSN_CHILD, example("medical-referral"))
    )
    assert error.code == "recipient_not_allowed"


async def test_a_referral_carrying_a_diagnosis_is_refused_as_not_minimal(
    made: ClockedClients,
) -> None:
    gp = made(GP, "huisarts")
    await gp.record_consent(agreement(GP, "zorg-noord"))
    payload = {**example("medical-referral"), "diagnosis": "F32.1"}
    error = await refused(gp.send("medical-referral", "zorg-noord", BSN_CHILD, payload))
    assert error.code == "payload_not_minimal"


# -- leerplicht-signal ----------------------------------------------------------------------------


async def test_the_leerplicht_officer_signals_absence_to_the_social_team(
    made: ClockedClients,
) -> None:
    officer = made(LEERPLICHT, "leerplichtambtenaar")
    sent = await officer.send(
        "leerplicht-signal", "swt-denhelder", BSN_CHILD, example("leerplicht-signal")
    )
    assert sent["legal_basis"]["reference"].startswith("Leerplichtwet 1969 art. 16 lid 4")
    (message,) = (await made("swt-denhelder", "procesregisseur").inbox())["messages"]
    assert message["payload"]["absence_kind"] == "signaalverzuim"


async def test_a_leerplicht_signal_goes_to_the_social_team_only_and_never_says_why(
    made: ClockedClients,
) -> None:
    officer = made(LEERPLICHT, "leerplichtambtenaar")
    to_school = await refused(
        officer.send("leerplicht-signal", "school-de-es", BSN_CHILD, example("leerplicht-signal"))
    )
    assert to_school.code == "recipient_not_allowed"
    with_reason = {**example("leerplicht-signal"), "reason": "ziekenhuisopname"}
    too_much = await refused(
        officer.send("leerplicht-signal", "swt-denhelder", BSN_CHILD, with_reason)
    )
    assert too_much.code == "payload_not_minimal"
    school = made("school-de-es", "intern_begeleider")
    not_officer = await refused(
        school.send("leerplicht-signal", "swt-denhelder", BSN_CHILD, example("leerplicht-signal"))
    )
    assert not_officer.code == "sender_not_allowed"


# -- child-protection-board-information -----------------------------------------------------------


async def test_a_gp_informs_the_child_protection_board_after_weighing_the_necessity(
    made: ClockedClients,
) -> None:
    gp = made(GP, "huisarts")
    sent = await gp.send(
        "child-protection-board-information",
        BOARD,
        BSN_CHILD,
        example("child-protection-board-information"),
    )
    assert sent["legal_basis"] == {"type": "statute", "reference": "BW art. 1:240"}
    (message,) = (await made(BOARD, "raadsonderzoeker").inbox())["messages"]
    assert message["payload"]["necessary_for"] == "protection_investigation"


async def test_information_for_the_board_without_the_necessity_weighed_is_refused(
    made: ClockedClients,
) -> None:
    gp = made(GP, "huisarts")
    unweighed = {**example("child-protection-board-information"), "necessity_weighed": False}
    error = await refused(
        gp.send("child-protection-board-information", BOARD, BSN_CHILD, unweighed)
    )
    assert error.code == "schema_violation"
    assert (await made(BOARD, "raadsonderzoeker").inbox())["messages"] == []


async def test_work_and_income_cannot_inform_the_board_under_its_meldrecht(
    made: ClockedClients,
) -> None:
    wi = made(WI, "klantmanager")
    error = await refused(
        wi.send(
            "child-protection-board-information",
            BOARD,
            BSN_CHILD,
            example("child-protection-board-information"),
        )
    )
    assert error.code == "sender_not_allowed"


# -- Work and Income -------------------------------------------------------------------------------


async def test_work_and_income_may_report_to_veilig_thuis_and_nothing_else(
    made: ClockedClients,
) -> None:
    wi = made(WI, "klantmanager")
    report = {**example("safety-report-vt"), "acute_danger": False}
    sent = await wi.send("safety-report-vt", "veiligthuis-nhn", BSN_CHILD, report)
    assert sent["legal_basis"]["reference"] == "Wmo 2015 art. 5.2.6; Wet verplichte meldcode"
    error = await refused(wi.send("referral", "zorg-noord", BSN_CHILD, example("referral")))
    assert error.code == "sender_not_allowed"
