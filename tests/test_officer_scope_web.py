"""The officer workspace shows each officer only the organisations it oversees, and says which.

The school's officer (`fg-school-de-es`) signs in with a one-time link like any officer and then
tries every page for what the care provider did with the social team: the overview's counts and
per-partner charts, the search, an entry's page, the break-glass queue and its review form, the
refusal patterns and the subject access report. The operator's officer (`fg-denhelder`,
oversees "all") sees everything, so each attack is also checked to have had something to find.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Callable

import pytest

from gateway.client.http import PartnerClient
from tests.conftest import BSN_CHILD
from tests.officer_helpers import OfficerBrowser, Page, issue_link
from tests.officer_scope_helpers import (
    OPERATOR_OFFICER,
    PROVIDER_OFFICER,
    SCHOOL_OFFICER,
    ScopedTown,
    ScopeStory,
    scoped_running_fixture,  # noqa: F401  (pytest finds the fixtures by name)
    scoped_town_fixture,  # noqa: F401
    tell_scope_story,
)

MakeClient = Callable[..., PartnerClient]
SCHOOL_NAME = "Basisschool De Es"
PROVIDER_NAME = "Zorgaanbieder Noord"


@pytest.fixture
async def story(town: ScopedTown, clients: MakeClient) -> ScopeStory:
    return await tell_scope_story(town, clients)


@pytest.fixture
async def browsers(town: ScopedTown) -> AsyncIterator[Callable[[str], OfficerBrowser]]:
    made: list[OfficerBrowser] = []

    def make(_: str) -> OfficerBrowser:
        browser = OfficerBrowser(town.running)
        made.append(browser)
        return browser

    yield make
    for browser in made:
        await browser.close()


async def _signed_in(
    town: ScopedTown, browsers: Callable[[str], OfficerBrowser], officer: str
) -> OfficerBrowser:
    browser = browsers(officer)
    await browser.sign_in(await issue_link(town.running, officer=officer))
    return browser


def _totals(page: Page) -> list[str]:
    """The overview's totals for the period: disclosed, refused, break-glass."""
    section = page.text[page.text.index('id="all-h"') :]
    return re.findall(r'<td class="num">(\d+)</td>', section)[:3]


def _partner_rows(page: Page) -> list[str]:
    section = page.text[page.text.index('id="partner-h"') :]
    return re.findall(r'<th scope="row">([^<]+)</th>', section)


async def test_every_page_says_whom_the_officer_oversees_in_dutch_and_in_english(
    town: ScopedTown, browsers: Callable[[str], OfficerBrowser]
) -> None:
    school = await _signed_in(town, browsers, SCHOOL_OFFICER)
    for path in ("/officer/", "/officer/search", "/officer/break-glass", "/officer/refusals"):
        english = await school.get(path, lang="en")
        assert english.status == 200, english.text
        assert f"You oversee: {SCHOOL_NAME}." in english.text
        dutch = await school.get(path, lang="nl")
        assert f"U houdt toezicht op: {SCHOOL_NAME}." in dutch.text
    operator = await _signed_in(town, browsers, OPERATOR_OFFICER)
    page = await operator.get("/officer/", lang="en")
    assert "You oversee: every organisation on the gateway" in page.text
    page = await operator.get("/officer/", lang="nl")
    assert "U houdt toezicht op: alle organisaties op de gateway" in page.text


async def test_the_overview_of_the_schools_officer_counts_nothing_of_the_provider(
    town: ScopedTown, story: ScopeStory, browsers: Callable[[str], OfficerBrowser]
) -> None:
    rows = await town.running.gw.storage.log_rows(0, await town.running.gw.storage.log_size())
    schools = [
        r.entry
        for r in rows
        if "school-de-es" in (r.entry.recipient, r.entry.sender and r.entry.sender.partner)
    ]
    school = await _signed_in(town, browsers, SCHOOL_OFFICER)
    page = await school.get("/officer/", lang="en")
    assert _totals(page) == [
        str(sum(e.decision == "disclosed" for e in schools)),
        str(sum(e.decision == "refused" for e in schools)),
        str(sum(e.break_glass for e in schools)),
    ]
    assert _totals(page) == ["2", "2", "1"]
    # The per-partner chart shows no volume of the provider's, not even its name.
    assert PROVIDER_NAME not in _partner_rows(page)
    assert PROVIDER_NAME not in page.text
    assert "Break-glass uses waiting for review: 1" in page.text

    operator = await _signed_in(town, browsers, OPERATOR_OFFICER)
    everything = await operator.get("/officer/", lang="en")
    assert int(_totals(everything)[0]) > int(_totals(page)[0])
    assert PROVIDER_NAME in _partner_rows(everything)
    assert "Break-glass uses waiting for review: 2" in everything.text


async def test_the_schools_officer_searching_the_workspace_finds_no_provider_to_team_exchange(
    town: ScopedTown, story: ScopeStory, browsers: Callable[[str], OfficerBrowser]
) -> None:
    school = await _signed_in(town, browsers, SCHOOL_OFFICER)
    form = await school.get("/officer/search", lang="en")
    results = await school.submit(form, "/officer/search")
    assert results.status == 200, results.text
    shown = {int(i) for i in re.findall(r'<a href="/officer/entries/(\d+)"', results.text)}
    assert story.school_disclosed in shown
    assert story.school_refused_as_recipient in shown
    assert not shown & {*story.provider_to_team, story.provider_glass_index}
    assert story.clientless_token_refusal not in shown
    by_provider = await school.submit(form, "/officer/search", partner="zorg-noord")
    assert "0 entries on this page" in by_provider.text
    by_child = await school.submit(form, "/officer/search", bsn=BSN_CHILD)
    shown = {int(i) for i in re.findall(r'<a href="/officer/entries/(\d+)"', by_child.text)}
    assert shown == {story.school_disclosed, story.school_refused_as_sender}


async def test_another_organisations_entry_page_is_as_absent_as_a_missing_one(
    town: ScopedTown, story: ScopeStory, browsers: Callable[[str], OfficerBrowser]
) -> None:
    school = await _signed_in(town, browsers, SCHOOL_OFFICER)
    hidden = story.provider_to_team[0]
    beyond = 10**6
    theirs = await school.get(f"/officer/entries/{hidden}", lang="en")
    absent = await school.get(f"/officer/entries/{beyond}", lang="en")
    assert theirs.status == absent.status == 404
    assert theirs.text.replace(f"/{hidden}", "/N") == absent.text.replace(f"/{beyond}", "/N")
    own = await school.get(f"/officer/entries/{story.school_disclosed}", lang="en")
    assert own.status == 200, own.text
    assert f"You oversee: {SCHOOL_NAME}." in own.text
    operator = await _signed_in(town, browsers, OPERATOR_OFFICER)
    assert (await operator.get(f"/officer/entries/{hidden}")).status == 200


async def test_the_break_glass_page_shows_and_lets_judge_only_the_officers_organisations(
    town: ScopedTown, story: ScopeStory, browsers: Callable[[str], OfficerBrowser]
) -> None:
    school = await _signed_in(town, browsers, SCHOOL_OFFICER)
    queue = await school.get("/officer/break-glass", lang="en")
    assert story.school_glass in queue.text
    assert story.provider_glass not in queue.text
    assert "Moeder belt" not in queue.text
    csrf = queue.form("/officer/sign-out")["csrf"]
    size = await town.running.gw.storage.log_size()
    judged = await school.post(
        f"/officer/break-glass/{story.provider_glass}/review",
        {"csrf": csrf, "judgement": "unjustified", "note": "Niet nodig."},
    )
    assert judged.status == 404
    assert await town.running.gw.storage.log_size() == size
    [still] = await town.running.gw.storage.break_glass_records(
        status=None, limit=10, senders=frozenset({"zorg-noord"})
    )
    assert still.status == "pending"
    provider = await _signed_in(town, browsers, PROVIDER_OFFICER)
    theirs = await provider.get("/officer/break-glass", lang="en")
    assert story.provider_glass in theirs.text
    assert story.school_glass not in theirs.text


async def test_the_providers_officer_sees_no_refusal_pattern_of_the_school(
    town: ScopedTown, story: ScopeStory, browsers: Callable[[str], OfficerBrowser]
) -> None:
    provider = await _signed_in(town, browsers, PROVIDER_OFFICER)
    page = await provider.get("/officer/refusals", lang="en")
    assert page.status == 200
    assert SCHOOL_NAME not in page.text
    operator = await _signed_in(town, browsers, OPERATOR_OFFICER)
    assert SCHOOL_NAME in (await operator.get("/officer/refusals", lang="en")).text


async def test_the_subject_report_page_of_the_schools_officer_holds_only_the_schools_part(
    town: ScopedTown, story: ScopeStory, browsers: Callable[[str], OfficerBrowser]
) -> None:
    school = await _signed_in(town, browsers, SCHOOL_OFFICER)
    form = await school.get("/officer/subject-report", lang="en")
    report = await school.submit(form, "/officer/subject-report", bsn=BSN_CHILD)
    assert report.status == 200, report.text
    assert "Number of records: 2" in report.text
    assert PROVIDER_NAME not in report.text
    assert f"You oversee: {SCHOOL_NAME}." in report.text
    operator = await _signed_in(town, browsers, OPERATOR_OFFICER)
    form = await operator.get("/officer/subject-report", lang="en")
    everything = await operator.submit(form, "/officer/subject-report", bsn=BSN_CHILD)
    assert PROVIDER_NAME in everything.text


async def test_the_sign_in_link_command_tells_the_operator_whom_the_officer_oversees(
    town: ScopedTown, storage_url: str | None
) -> None:
    gw = town.running.gw

    def cli(officer: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "gateway.cli", "officer", "sign-in-link", officer]
        command += ["--config", str(gw.config_dir), "--data", str(gw.data.path)]
        if storage_url is not None:
            command += ["--storage", storage_url]
        return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)

    school = await asyncio.to_thread(cli, SCHOOL_OFFICER)
    assert school.returncode == 0, school.stderr
    assert f"{SCHOOL_OFFICER} oversees: school-de-es" in school.stderr
    operator = await asyncio.to_thread(cli, OPERATOR_OFFICER)
    assert f"{OPERATOR_OFFICER} oversees: every organisation" in operator.stderr
