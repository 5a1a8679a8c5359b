"""The workspace's erasure page over real HTTP, on SQLite and PostgreSQL.

The operator's officer (`fg-denhelder`, oversees "all") erases a person's link through the form:
the page explains in Dutch (or English) what erasure does and does not undo, asks for a reason
and a confirmation, calls the audit API's own erasure and answers with the log index; afterwards
the workspace's search by that BSN finds nothing. A form without the session's CSRF token, or
from the school's officer (who oversees only the school), erases nothing. The BSN never comes
back in a page, and no log line the gateway hands to structlog carries it.
"""

from __future__ import annotations

import contextlib
import html
import re
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs

from gateway.client.http import PartnerClient
from gateway.log.entry import Sender
from gateway.policy.retention import ERASURE_REASONS
from tests.conftest import (
    BSN_CHILD,
    BSN_OTHER,
    ONDERWIJSNUMMER_CHILD,
    ONDERWIJSNUMMER_SYSTEM,
    Running,
    example,
)
from tests.helpers import assert_contract_error, linked_pseudonym, log_entries, seed_referral
from tests.officer_helpers import ACTOR, OfficerBrowser, Page, issue_link
from tests.officer_scope_helpers import (
    OPERATOR_OFFICER,
    SCHOOL_OFFICER,
    ScopedTown,
    scoped_running_fixture,  # noqa: F401  (pytest finds the fixtures by name)
    scoped_town_fixture,  # noqa: F401
)

MakeClient = Callable[..., PartnerClient]
ERASE = "/officer/erase"
# Nine digits standing alone: inside a pseudonym (hex) or a hash (base64) they are no BSN.
BSN_SHAPED = re.compile(r"(?<![0-9A-Za-z+/])\d{9}(?![0-9A-Za-z+/])")
REFUSAL_NL = (
    "alleen de privacyfunctionaris die toezicht houdt op alle organisaties mag de koppeling "
    "van een persoon wissen"
)
REFUSAL_EN = "only the privacy officer who oversees every organisation may erase a subject's link"


@pytest.fixture
async def browsers(running: Running) -> AsyncIterator[Callable[[], OfficerBrowser]]:
    made: list[OfficerBrowser] = []

    def make() -> OfficerBrowser:
        browser = OfficerBrowser(running)
        made.append(browser)
        return browser

    yield make
    for browser in made:
        await browser.close()


async def _signed_in(
    running: Running,
    browsers: Callable[[], OfficerBrowser],
    officer: str = OPERATOR_OFFICER,
    actor: str = ACTOR,
) -> OfficerBrowser:
    browser = browsers()
    await browser.sign_in(await issue_link(running, actor=actor, officer=officer))
    return browser


@pytest.fixture
async def operator(running: Running, browsers: Callable[[], OfficerBrowser]) -> OfficerBrowser:
    """The operator's officer, who may erase, signed in."""
    return await _signed_in(running, browsers)


async def _feedback(running: Running, clients: MakeClient, subject: dict[str, Any]) -> int:
    """An evaluation feedback from the provider to the team about `subject`; its log index."""
    await seed_referral(running, "zorg-noord", subject)
    sent = await clients("zorg-noord").request(
        "POST",
        "/v1/exchanges",
        json_body={
            "purpose": "evaluation-feedback",
            "to": "swt-denhelder",
            "subject": subject,
            "payload": example("evaluation-feedback"),
        },
    )
    return int(sent["disclosures"][0]["log_index"])


async def _found_by_search(browser: OfficerBrowser, **fields: str) -> list[int]:
    """The entry indices the workspace's search by this person lists."""
    form = await browser.get("/officer/search")
    page = await browser.submit(form, "/officer/search", **fields)
    assert page.status == 200, page.text
    no_person_number_in(page.text)
    return [int(n) for n in re.findall(r'href="/officer/entries/(\d+)"', page.text)]


def no_person_number_in(text: str) -> None:
    for number in (BSN_CHILD, BSN_OTHER, ONDERWIJSNUMMER_CHILD):
        assert number not in text
    assert not BSN_SHAPED.search(text), BSN_SHAPED.search(text)


@contextlib.contextmanager
def logged() -> Iterator[list[str]]:
    """Every event handed to structlog meanwhile (before redaction), one string each."""
    lines: list[str] = []
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as events:
        yield lines
    lines.extend(repr(event) for event in events)


def no_person_number_logged(lines: list[str]) -> None:
    for line in lines:
        for number in (BSN_CHILD, BSN_OTHER, ONDERWIJSNUMMER_CHILD):
            assert number not in line, line


def _nav_links(page: Page) -> list[str]:
    nav = page.text[page.text.index("<nav") : page.text.index("</nav>")]
    return re.findall(r'<a href="([^"]+)"', nav)


# -- the page --------------------------------------------------------------------------------------


async def test_the_page_explains_erasure_in_dutch_by_default_and_in_english_on_request(
    operator: OfficerBrowser,
) -> None:
    dutch = await operator.get(ERASE)
    assert dutch.status == 200, dutch.text
    assert '<html lang="nl">' in dutch.text
    assert "<h1>Koppeling van een persoon aan de gegevens wissen (AVG art. 17)</h1>" in dutch.text
    assert "Wat wissen doet" in dutch.text
    assert "Wat wissen niet doet" in dutch.text
    assert "De logregels blijven zoals ze zijn" in dutch.text
    assert "definitief verwijderd" in dutch.text
    assert "geboortedatum die de gateway kent" in dutch.text
    assert "vóór schema 9" in dutch.text
    assert "Niet langer nodig voor de doeleinden (AVG art. 17 lid 1 sub a)" in dutch.text
    assert 'aria-current="page">Koppeling wissen</a>' in dutch.text
    # Every reason the API accepts is offered, and nothing else.
    offered = re.findall(r'<option value="([a-z_]+)"', dutch.text)
    assert offered == list(ERASURE_REASONS)
    # The confirmation is part of the form, and required.
    assert re.search(
        r'<input type="checkbox" id="confirm" name="confirm" value="erase" required', dutch.text
    )
    assert dutch.form(ERASE)["csrf"]
    assert 'name="bsn"' in dutch.text

    english = await operator.get(ERASE, lang="en")
    assert english.status == 200
    assert '<html lang="en">' in english.text
    assert "<h1>Erase a person's link to the records (AVG art. 17)</h1>" in html.unescape(
        english.text
    )
    assert "What erasure does not do" in english.text
    assert "The log entries stay as they are" in english.text
    assert "before schema 9" in english.text
    assert "No longer necessary for the purposes (AVG art. 17(1)(a))" in english.text
    assert "Wat wissen doet" not in english.text
    assert 'aria-current="page">Erase a link</a>' in english.text
    # The officer's language sticks to the session, as on the other pages.
    assert '<html lang="en">' in (await operator.get("/officer/")).text


# -- erasing ---------------------------------------------------------------------------------------


async def test_an_erasure_through_the_form_leaves_nothing_found_by_that_bsn(
    running: Running, clients: MakeClient, operator: OfficerBrowser
) -> None:
    disclosed = await _feedback(running, clients, {"bsn": BSN_CHILD})
    other = await _feedback(running, clients, {"bsn": BSN_OTHER})
    assert disclosed in await _found_by_search(operator, bsn=BSN_CHILD)
    form = await operator.get(ERASE)

    with logged() as lines:
        done = await operator.submit(
            form, ERASE, bsn=BSN_CHILD, reason="objection", confirm="erase"
        )
        found_after = await _found_by_search(operator, bsn=BSN_CHILD)

    assert done.status == 200, done.text
    no_person_number_in(done.text)
    assert "<h1>Koppeling gewist</h1>" in done.text
    [index] = [int(n) for n in re.findall(r'href="/officer/entries/(\d+)"', done.text)]
    assert f"als regel {index}" in done.text
    assert "De persoon maakte bezwaar" in done.text
    erased = (await log_entries(running, index))[0]
    assert erased.decision == "subject_link_erased"
    assert erased.reason == "objection"
    assert erased.details == {"ground": ERASURE_REASONS["objection"]}
    assert erased.sender == Sender(OPERATOR_OFFICER, ACTOR, "privacy_officer")
    assert erased.subject is None
    assert BSN_CHILD not in erased.canonical().decode()
    # The workspace's search by that BSN finds nothing now; the other person as before.
    assert found_after == []
    assert await linked_pseudonym(running, BSN_CHILD) is None
    assert other in await _found_by_search(operator, bsn=BSN_OTHER)
    no_person_number_logged(lines)

    # Erasing the same person again: nothing is linked, nothing changes, nothing is logged.
    size = await running.gw.storage.log_size()
    again = await operator.submit(
        await operator.get(ERASE, lang="en"),
        ERASE,
        bsn=BSN_CHILD,
        reason="objection",
        confirm="erase",
    )
    assert again.status == 404
    assert "<h1>Nothing linked to this person</h1>" in again.text
    assert "Nothing was changed and nothing was logged." in again.text
    no_person_number_in(again.text)
    assert await running.gw.storage.log_size() == size


async def test_a_person_without_a_bsn_is_erased_by_the_number_and_system_the_form_names(
    running: Running, clients: MakeClient, operator: OfficerBrowser
) -> None:
    pupil = {"identifier": {"system": ONDERWIJSNUMMER_SYSTEM, "value": ONDERWIJSNUMMER_CHILD}}
    index = await _feedback(running, clients, pupil)
    by_number = {"system": ONDERWIJSNUMMER_SYSTEM, "bsn": ONDERWIJSNUMMER_CHILD}
    assert await _found_by_search(operator, **by_number) == [index]
    form = await operator.get(ERASE, lang="en")
    assert f'<option value="{ONDERWIJSNUMMER_SYSTEM}">' in form.text
    done = await operator.submit(
        form, ERASE, **by_number, reason="no_longer_necessary", confirm="erase"
    )
    assert done.status == 200, done.text
    assert "<h1>Link erased</h1>" in done.text
    no_person_number_in(done.text)
    assert await _found_by_search(operator, **by_number) == []


async def test_an_unconfirmed_or_incomplete_form_erases_nothing_and_never_shows_the_number_again(
    running: Running, clients: MakeClient, operator: OfficerBrowser
) -> None:
    await _feedback(running, clients, {"bsn": BSN_CHILD})
    pseudonym = await linked_pseudonym(running, BSN_CHILD)
    size = await running.gw.storage.log_size()
    form = await operator.get(ERASE, lang="en")
    cases = [
        ({"bsn": BSN_CHILD, "reason": "objection"}, "tick the confirmation box"),
        ({"bsn": BSN_CHILD, "reason": "objection", "confirm": "yes"}, "tick the confirmation box"),
        ({"bsn": BSN_CHILD, "confirm": "erase"}, "Choose the reason for the erasure."),
        ({"bsn": BSN_CHILD, "reason": "bored", "confirm": "erase"}, "Choose the reason"),
        ({"bsn": "999992352", "reason": "objection", "confirm": "erase"}, "elfproef"),
        ({"reason": "objection", "confirm": "erase"}, "elfproef"),
    ]
    for fields, problem in cases:
        page = await operator.submit(form, ERASE, **fields)
        assert page.status == 400, (fields, page.status)
        assert problem in page.text, fields
        no_person_number_in(page.text)
        assert "999992352" not in page.text
        assert (
            'name="bsn" type="text" inputmode="numeric" autocomplete="off" maxlength="11" required value=""'
            in page.text
        )
    # The reason chosen is kept for the correction; the number is not.
    kept = await operator.submit(form, ERASE, bsn=BSN_CHILD, reason="objection")
    assert '<option value="objection" selected>' in kept.text
    assert await running.gw.storage.log_size() == size
    assert await linked_pseudonym(running, BSN_CHILD) == pseudonym


# -- refusals --------------------------------------------------------------------------------------


async def test_a_form_without_this_sessions_csrf_token_is_refused_and_erases_nothing(
    running: Running,
    clients: MakeClient,
    operator: OfficerBrowser,
    browsers: Callable[[], OfficerBrowser],
) -> None:
    await _feedback(running, clients, {"bsn": BSN_CHILD})
    pseudonym = await linked_pseudonym(running, BSN_CHILD)
    assert pseudonym is not None
    other = await _signed_in(running, browsers, actor="a-jansen")
    foreign = (await other.get(ERASE)).form(ERASE)["csrf"]
    fields = {"bsn": BSN_CHILD, "reason": "objection", "confirm": "erase"}
    with logged() as lines:
        for csrf in (None, "", foreign, "0" * 64):
            size = await running.gw.storage.log_size()
            form = dict(fields) if csrf is None else {**fields, "csrf": csrf}
            page = await operator.post(ERASE, form)
            assert page.status == 403, csrf
            assert "beveiligingstoken ontbreekt" in page.text
            no_person_number_in(page.text)
            assert await running.gw.storage.log_size() == size, "nothing logged"
    assert await linked_pseudonym(running, BSN_CHILD) == pseudonym
    assert any("officer_page_refused" in line for line in lines)
    no_person_number_logged(lines)


async def test_an_officer_who_does_not_oversee_every_organisation_gets_the_apis_refusal_and_erases_nothing(
    town: ScopedTown,
    running: Running,
    clients: MakeClient,
    browsers: Callable[[], OfficerBrowser],
) -> None:
    await _feedback(running, clients, {"bsn": BSN_CHILD})
    pseudonym = await linked_pseudonym(running, BSN_CHILD)
    assert pseudonym is not None
    school = await _signed_in(running, browsers, officer=SCHOOL_OFFICER, actor="school-fg")
    overview = await school.get("/officer/")
    assert overview.status == 200
    assert ERASE not in _nav_links(overview)
    assert "Koppeling wissen" not in overview.text
    # The operator's officer does see the link.
    operator = await _signed_in(running, browsers)
    assert ERASE in _nav_links(await operator.get("/officer/"))

    size = await running.gw.storage.log_size()
    page = await school.get(ERASE)
    assert page.status == 403
    assert REFUSAL_NL in page.text
    assert 'name="bsn"' not in page.text
    english = await school.get(ERASE, lang="en")
    assert english.status == 403
    assert REFUSAL_EN in html.unescape(english.text)
    # A form posted with the school officer's own, valid token is refused the same way.
    csrf = overview.form("/officer/sign-out")["csrf"]
    with logged() as lines:
        posted = await school.post(
            ERASE, {"csrf": csrf, "bsn": BSN_CHILD, "reason": "objection", "confirm": "erase"}
        )
    assert posted.status == 403
    assert REFUSAL_EN in html.unescape(posted.text)
    no_person_number_in(posted.text)
    no_person_number_logged(lines)
    assert await running.gw.storage.log_size() == size
    assert await linked_pseudonym(running, BSN_CHILD) == pseudonym
    # The API answers the school's officer with the same refusal.
    api = await town.http.call(
        "POST",
        "/v1/audit/subjects/erase",
        token=await town.token(SCHOOL_OFFICER),
        json_body={"subject": {"bsn": BSN_CHILD}, "reason": "objection"},
    )
    refusal = assert_contract_error(api, 403, "forbidden")
    assert refusal["message"] == REFUSAL_EN
    assert refusal["how_to_fix"] in html.unescape(english.text)
    assert await linked_pseudonym(running, BSN_CHILD) == pseudonym
