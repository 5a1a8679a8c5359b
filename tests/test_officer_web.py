"""The privacy officer's workspace over real HTTP, on SQLite and PostgreSQL.

Sign-in with a one-time link, the session cookie and its revocation, CSRF on every form, no page
for anyone without an officer's session (an API token opens nothing), no BSN on any page, every
look logged, and the pages' security headers. The rules behind them (texts in both languages,
counts, charts, integrity checks) are tested as plain functions at the end.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from gateway.audit.activity import daily_series, period_ending, refusal_matrix, repeated_refusals
from gateway.audit.integrity import IntegrityProblem, prove_entry, verify_tree_head
from gateway.client.http import PartnerClient
from gateway.log.entry import DECISIONS, LogEntry, Sender
from gateway.log.merkle import subtree_nodes_for_range
from gateway.officer.charts import daily_bar_chart
from gateway.officer.i18n import TEXTS, Translator
from gateway.officer.sessions import (
    SESSION_ABSOLUTE,
    SESSION_IDLE,
    CsrfRefused,
    cookie_policy,
    csrf_token,
    new_session,
    new_sign_in_link,
    secret_hash,
    verify_csrf,
)
from gateway.store.base import ActivityCount, LogRow, RefusalCount, Storage
from gateway.store.postgres_schema import POSTGRES_MIGRATIONS
from gateway.store.schema import SCHEMA_VERSION, SQLITE_MIGRATIONS
from tests.conftest import (
    BSN_CHILD,
    BSN_OTHER,
    ONDERWIJSNUMMER_CHILD,
    ONDERWIJSNUMMER_SYSTEM,
    Running,
    example,
)
from tests.helpers import Http, log_entries, seed_referral
from tests.officer_helpers import (
    ACTOR,
    JUSTIFICATION,
    OFFICER,
    OFFICER_NAME,
    OfficerBrowser,
    Page,
    Story,
    issue_link,
    tell_story,
)
from tests.storage_fixtures import (  # noqa: F401
    PostgresBackend,
    SqliteBackend,
    storage_backend_fixture,
    storage_fixture,
)

MakeClient = Callable[..., PartnerClient]
NON_OFFICERS = ["swt-denhelder", "zorg-noord", "gi-noordholland", "school-de-es"]
# Nine digits standing alone: inside a pseudonym (hex) or a hash (base64) they are no BSN.
BSN_SHAPED = re.compile(r"(?<![0-9A-Za-z+/])\d{9}(?![0-9A-Za-z+/])")
SIGNED_IN_PAGES = [
    "/officer/",
    "/officer/?days=7",
    "/officer/search",
    "/officer/break-glass",
    "/officer/refusals",
    "/officer/subject-report",
]


@pytest.fixture
async def browser(running: Running) -> AsyncIterator[OfficerBrowser]:
    made = OfficerBrowser(running)
    yield made
    await made.close()


@pytest.fixture
async def signed_in(running: Running, browser: OfficerBrowser) -> OfficerBrowser:
    await browser.sign_in(await issue_link(running))
    return browser


@pytest.fixture
async def story(running: Running, clients: MakeClient) -> Story:
    return await tell_story(running, clients)


def cookie_attributes(header: str) -> tuple[str, str, dict[str, str]]:
    """Name, value and attributes (lower-cased names) of one Set-Cookie header."""
    first, *rest = [part.strip() for part in header.split(";")]
    name, _, value = first.partition("=")
    attributes = {}
    for part in rest:
        key, _, val = part.partition("=")
        attributes[key.lower()] = val
    return name, value, attributes


def set_cookie(page: Page, name: str) -> dict[str, str]:
    for header in page.set_cookies:
        found, _, attributes = cookie_attributes(header)
        if found == name:
            return attributes
    raise AssertionError(f"no Set-Cookie for {name}: {page.set_cookies}")


async def entries_since(running: Running, start: int) -> list[LogEntry]:
    return await log_entries(running, start)


def no_bsn_in(html: str) -> None:
    assert BSN_CHILD not in html
    assert BSN_OTHER not in html
    assert not BSN_SHAPED.search(html), BSN_SHAPED.search(html)


# -- signing in ------------------------------------------------------------------------------------


async def test_a_sign_in_link_signs_in_once_and_never_again(
    running: Running, browser: OfficerBrowser
) -> None:
    token = await issue_link(running)
    await browser.sign_in(token)
    overview = await browser.get("/officer/")
    assert overview.status == 200
    assert OFFICER_NAME in overview.text
    assert ACTOR in overview.text

    second = OfficerBrowser(running)
    try:
        form = await second.get("/officer/sign-in", token=token)
        again = await second.submit(form, "/officer/sign-in")
        assert again.status == 401
        assert "text/html" in again.headers["Content-Type"]
        assert (await second.get("/officer/")).status == 401
    finally:
        await second.close()


async def test_opening_a_link_only_shows_a_button_and_uses_nothing(
    running: Running, browser: OfficerBrowser
) -> None:
    token = await issue_link(running)
    for _ in range(3):  # a mail scanner fetching the link
        page = await browser.get("/officer/sign-in", token=token)
        assert page.status == 200
        assert '<button type="submit">' in page.text
    await browser.sign_in(token)


async def test_two_browsers_racing_with_one_link_get_one_session(running: Running) -> None:
    token = await issue_link(running)
    browsers = [OfficerBrowser(running) for _ in range(4)]
    try:
        forms = [await b.get("/officer/sign-in", token=token) for b in browsers]
        answers = await asyncio.gather(
            *(b.submit(f, "/officer/sign-in") for b, f in zip(browsers, forms, strict=True))
        )
        assert sorted(a.status for a in answers) == [303, 401, 401, 401]
    finally:
        for b in browsers:
            await b.close()


async def test_a_link_is_refused_after_its_fifteen_minutes(
    running: Running, browser: OfficerBrowser
) -> None:
    token = await issue_link(running)
    page = await browser.get("/officer/sign-in", token=token)
    running.clock.moment += timedelta(minutes=15)
    answer = await browser.submit(page, "/officer/sign-in")
    assert answer.status == 401
    assert "expired" in answer.text or "verlopen" in answer.text


async def test_a_code_typed_into_the_form_signs_in_like_the_link(
    running: Running, browser: OfficerBrowser
) -> None:
    token = await issue_link(running)
    page = await browser.get("/officer/sign-in", lang="en")
    assert '<label for="code">' in page.text
    answer = await browser.submit(page, "/officer/sign-in", code=token)
    assert answer.status == 303
    assert (await browser.get("/officer/")).status == 200


async def test_a_sign_in_form_posted_without_its_browser_cookie_is_refused(
    running: Running, browser: OfficerBrowser
) -> None:
    token = await issue_link(running)
    page = await browser.get("/officer/sign-in", token=token)
    browser.session.cookie_jar.clear()
    answer = await browser.submit(page, "/officer/sign-in")
    assert answer.status == 403
    # The link was not used up by the refused attempt.
    await browser.sign_in(token)


async def test_the_session_cookie_is_httponly_strict_and_host_wide_on_plain_http(
    running: Running, browser: OfficerBrowser
) -> None:
    page = await browser.get("/officer/sign-in", token=await issue_link(running))
    answer = await browser.submit(page, "/officer/sign-in")
    cookie = set_cookie(answer, "gw_officer")
    assert "httponly" in cookie
    assert cookie["samesite"] == "Strict"
    assert cookie["path"] == "/"
    assert int(cookie["max-age"]) == int(SESSION_ABSOLUTE.total_seconds())
    assert "secure" not in cookie
    assert "domain" not in cookie
    value = browser.cookie("gw_officer")
    assert value is not None
    stored = await running.gw.storage.officer_session(secret_hash(value))
    assert stored is not None
    assert (stored.officer, stored.actor) == (OFFICER, ACTOR)
    assert await running.gw.storage.officer_session(value) is None, "only its hash is stored"


async def test_behind_tls_the_session_cookie_is_a_secure_host_cookie(
    running: Running, browser: OfficerBrowser
) -> None:
    running.gw.settings = dataclasses.replace(
        running.gw.settings, public_url="https://gateway.example.nl"
    )
    page = await browser.get("/officer/sign-in", token=await issue_link(running))
    assert "secure" in set_cookie(page, "__Host-gw_officer_sign_in")
    # A browser keeps Secure cookies off plain http; pass the sign-in cookie by hand here.
    nonce = cookie_attributes(page.set_cookies[0])[1]
    answer = await browser.request(
        "POST",
        "/officer/sign-in",
        form=page.form("/officer/sign-in"),
        headers={"Cookie": f"__Host-gw_officer_sign_in={nonce}"},
    )
    assert answer.status == 303
    cookie = set_cookie(answer, "__Host-gw_officer")
    assert "secure" in cookie
    assert "httponly" in cookie
    assert cookie["samesite"] == "Strict"
    assert cookie["path"] == "/"
    assert "domain" not in cookie


def test_the_cookie_policy_names_host_cookies_only_over_tls() -> None:
    assert cookie_policy(True) == cookie_policy(True)
    assert (cookie_policy(True).session_name, cookie_policy(True).secure) == (
        "__Host-gw_officer",
        True,
    )
    assert (cookie_policy(False).session_name, cookie_policy(False).secure) == ("gw_officer", False)


# -- sessions ending -----------------------------------------------------------------------------


async def test_a_session_cookie_replayed_after_sign_out_opens_no_page(
    running: Running, signed_in: OfficerBrowser
) -> None:
    cookie = signed_in.cookie("gw_officer")
    assert cookie is not None
    other = OfficerBrowser(running)
    try:
        await other.sign_in(await issue_link(running, actor="a-jansen"))
        overview = await signed_in.get("/officer/")
        signed_out = await signed_in.submit(overview, "/officer/sign-out")
        assert signed_out.status == 303
        assert signed_in.cookie("gw_officer") in (None, "")

        replay = OfficerBrowser(running)
        try:
            replay.session.cookie_jar.update_cookies(
                {"gw_officer": cookie}, aiohttp.client.URL(running.url)
            )
            for path in SIGNED_IN_PAGES:
                page = await replay.get(path)
                assert page.status == 401, path
                assert ACTOR not in page.text
        finally:
            await replay.close()
        # The other officer's session is untouched by this sign-out.
        assert (await other.get("/officer/")).status == 200
    finally:
        await other.close()


async def test_a_session_unused_for_eight_hours_has_ended(
    running: Running, signed_in: OfficerBrowser
) -> None:
    start = running.clock.moment
    running.clock.moment = start + timedelta(hours=4)
    assert (await signed_in.get("/officer/search")).status == 200
    running.clock.moment = start + timedelta(hours=4) + SESSION_IDLE - timedelta(minutes=1)
    assert (await signed_in.get("/officer/search")).status == 200, "use keeps it alive"
    other = OfficerBrowser(running)
    try:
        await other.sign_in(await issue_link(running, actor="a-jansen"))
        running.clock.moment += SESSION_IDLE
        assert (await other.get("/officer/search")).status == 401
    finally:
        await other.close()


async def test_a_session_ends_twelve_hours_after_signing_in_even_when_used(
    running: Running, signed_in: OfficerBrowser
) -> None:
    for _ in range(11):
        running.clock.moment += timedelta(hours=1)
        assert (await signed_in.get("/officer/search")).status == 200
    running.clock.moment += timedelta(hours=1)
    assert (await signed_in.get("/officer/search")).status == 401


async def test_removing_the_officer_from_the_registry_closes_its_pages(
    running: Running, signed_in: OfficerBrowser
) -> None:
    partners = dict(running.gw.partners.partners)
    del partners[OFFICER]
    running.gw.partners = dataclasses.replace(running.gw.partners, partners=partners)
    assert (await signed_in.get("/officer/")).status == 403


# -- CSRF ------------------------------------------------------------------------------------------


async def post_forms(running: Running, story: Story) -> list[tuple[str, dict[str, str]]]:
    return [
        ("/officer/search", {"bsn": BSN_CHILD}),
        ("/officer/subject-report", {"bsn": BSN_CHILD}),
        (f"/officer/break-glass/{story.break_glass_exchange}/review", {"judgement": "justified"}),
        ("/officer/sign-out", {}),
    ]


async def test_forms_without_this_sessions_csrf_token_are_refused_and_change_nothing(
    running: Running, story: Story, signed_in: OfficerBrowser
) -> None:
    other = OfficerBrowser(running)
    try:
        await other.sign_in(await issue_link(running, actor="a-jansen"))
        foreign = (await other.get("/officer/search")).form("/officer/search")["csrf"]
        for action, fields in await post_forms(running, story):
            for csrf in (None, "", foreign, "0" * 64):
                before = await running.gw.storage.log_size()
                form = dict(fields) if csrf is None else {**fields, "csrf": csrf}
                page = await signed_in.post(action, form)
                assert page.status == 403, (action, csrf)
                assert "text/html" in page.headers["Content-Type"]
                assert await running.gw.storage.log_size() == before, "nothing happened"
        # Still signed in, the break-glass use still waits.
        assert (await signed_in.get("/officer/")).status == 200
        pending = await running.gw.storage.break_glass_records(status="pending", limit=10)
        assert [r.exchange_id for r in pending] == [story.break_glass_exchange]
    finally:
        await other.close()


def test_a_csrf_token_belongs_to_one_session_and_is_compared_whole() -> None:
    token = csrf_token("session-one-secret-value")
    verify_csrf("session-one-secret-value", token)
    for wrong in (None, "", token[:-1], csrf_token("session-two-secret-value")):
        with pytest.raises(CsrfRefused):
            verify_csrf("session-one-secret-value", wrong)


# -- who may open what ---------------------------------------------------------------------------


def officer_routes(running: Running) -> list[tuple[str, str]]:
    """Every (method, path) the workspace serves, path parameters filled in."""
    out = []
    for route in running.server.app.router.routes():
        canonical = route.resource.canonical if route.resource is not None else ""
        if not canonical.startswith("/officer") or route.method == "HEAD":
            continue
        path = canonical.replace("{index}", "0").replace("{exchange_id}", "ex_unknown")
        out.append((route.method, path))
    return sorted(out)


PUBLIC = {
    ("GET", "/officer/sign-in"),  # the form asking for a link or code
    ("GET", "/officer/static/officer.css"),
    ("POST", "/officer/sign-in"),  # refused below: no sign-in cookie, no link
}


async def test_no_partner_token_and_no_missing_session_opens_any_page(
    running: Running, story: Story, clients: MakeClient
) -> None:
    routes = officer_routes(running)
    assert len(routes) >= 12, routes
    http = Http(running, aiohttp.ClientSession())
    try:
        tokens: list[str | None] = [None]
        for partner in [*NON_OFFICERS, OFFICER]:
            tokens.append(await http.token(partner))
        for token in tokens:
            for method, path in routes:
                answer = await http.call(
                    method, path, token=token, form={} if method == "POST" else None
                )
                if (method, path) in PUBLIC:
                    assert answer.status in (200, 403), (method, path, answer.status)
                else:
                    assert answer.status == 401, (token is not None, method, path)
                assert "text/html" in answer.headers["Content-Type"] or path.endswith(".css")
                assert JUSTIFICATION not in answer.text
                assert "evaluation-feedback" not in answer.text
    finally:
        await http.session.close()
    pending = await running.gw.storage.break_glass_records(status="pending", limit=10)
    assert len(pending) == 1


async def test_the_css_and_the_sign_in_form_show_no_data(running: Running, story: Story) -> None:
    http = Http(running, aiohttp.ClientSession())
    try:
        css = await http.call("GET", "/officer/static/officer.css")
        assert css.status == 200
        assert css.headers["Content-Type"].startswith("text/css")
        form = await http.call("GET", "/officer/sign-in")
        assert form.status == 200
        assert "<form" in form.text
        assert OFFICER_NAME not in form.text
    finally:
        await http.session.close()


# -- pages -----------------------------------------------------------------------------------------


async def test_every_page_carries_the_security_headers(
    running: Running, story: Story, signed_in: OfficerBrowser
) -> None:
    pages = [await signed_in.get(path) for path in SIGNED_IN_PAGES]
    pages.append(await signed_in.get(f"/officer/entries/{story.child_disclosure}"))
    pages.append(await signed_in.get("/officer/entries/999999"))
    pages.append(await signed_in.get("/officer/no-such-page"))
    pages.append(await signed_in.get("/officer/static/officer.css"))
    search = await signed_in.get("/officer/search")
    pages.append(await signed_in.submit(search, "/officer/search", bsn=BSN_CHILD))
    anonymous = OfficerBrowser(running)
    try:
        pages.append(await anonymous.get("/officer/"))
        pages.append(await anonymous.get("/officer/sign-in"))
    finally:
        await anonymous.close()
    for page in pages:
        csp = page.headers["Content-Security-Policy"]
        assert csp == (
            "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
            "frame-ancestors 'none'; base-uri 'none'"
        )
        assert page.headers["Referrer-Policy"] == "no-referrer"
        assert page.headers["X-Content-Type-Options"] == "nosniff"
        assert page.headers["Cache-Control"] == "no-store"
        assert "<script" not in page.text
        assert " style=" not in page.text
        assert "<style" not in page.text


async def test_unknown_pages_are_html_and_the_bare_prefix_leads_to_the_overview(
    running: Running, signed_in: OfficerBrowser
) -> None:
    missing = await signed_in.get("/officer/no-such-page")
    assert missing.status == 404
    assert missing.text.lower().startswith("<!doctype html>")
    bare = await signed_in.get("/officer")
    assert (bare.status, bare.headers["Location"]) == (308, "/officer/")
    wrong_method = await signed_in.request("DELETE", "/officer/search")
    assert wrong_method.status == 405
    assert "GET" in wrong_method.headers["Allow"]


async def test_the_overview_shows_the_verified_checkpoint_and_charts_with_text(
    running: Running, story: Story, signed_in: OfficerBrowser
) -> None:
    page = await signed_in.get("/officer/", lang="en")
    assert page.status == 200
    latest = await running.gw.storage.latest_checkpoint()
    assert latest is not None
    top = page.text.index('id="integrity-status"')
    assert top < page.text.index("<svg"), "integrity comes first"
    assert "Verified: the latest checkpoint" in page.text
    assert f"<dd>{latest.size}</dd>" in page.text
    charts = re.findall(r'<svg class="chart" role="img"[^>]*aria-labelledby="([^"]+)"', page.text)
    assert len(charts) >= 1 + 3 + 3  # overall, three purposes, three partners
    for labelled_by in charts:
        for part in labelled_by.split():
            assert f'id="{part}"' in page.text
    assert "Evaluation feedback" in page.text
    assert "Basisschool De Es" in page.text
    # Per purpose: the safety report's row counts one break-glass use.
    row = re.search(r"<th scope=\"row\">Safety report</th>(.*?)</tr>", page.text, re.S)
    assert row is not None
    assert re.findall(r'<td class="num">(\d+)</td>', row[1]) == ["1", "0", "1"]
    assert "Break-glass uses waiting for review: 1" in page.text


async def test_the_overview_says_not_verified_when_the_stored_tree_was_changed(
    running: Running, story: Story, signed_in: OfficerBrowser, backend: str
) -> None:
    latest = await running.gw.storage.latest_checkpoint()
    assert latest is not None
    level, index = subtree_nodes_for_range(0, latest.size)[0]
    await raw_sql(
        running,
        backend,
        "UPDATE tree_nodes SET hash = {zero} WHERE level = {level} AND idx = {index}",
        level=level,
        index=index,
    )
    page = await signed_in.get("/officer/", lang="en")
    assert "NOT verified" in page.text
    assert "does not lead to the checkpoint" in page.text


async def raw_sql(running: Running, backend: str, template: str, **values: int) -> None:
    """Edit the database behind the gateway's back, as an attacker with database access could."""
    if backend == "sqlite":
        sql = template.format(zero="zeroblob(32)", **values)
        conn = sqlite3.connect(running.gw.data.path / "gateway.sqlite3")
        try:
            conn.execute(sql)
            conn.commit()
        finally:
            conn.close()
        return
    from gateway.store.postgres import PostgresStorage

    storage = running.gw.storage
    assert isinstance(storage, PostgresStorage)
    import asyncpg  # type: ignore[import-untyped]

    conn = await asyncpg.connect(storage.dsn, server_settings={"search_path": storage.schema})
    try:
        await conn.execute(template.format(zero="'\\x" + "00" * 32 + "'::bytea", **values))
    finally:
        await conn.close()


async def test_a_bsn_search_finds_the_persons_entries_and_never_shows_the_bsn(
    running: Running, story: Story, signed_in: OfficerBrowser
) -> None:
    form = await signed_in.get("/officer/search", lang="en")
    results = await signed_in.submit(form, "/officer/search", bsn=BSN_CHILD)
    assert results.status == 200
    no_bsn_in(results.text)
    assert (
        'name="bsn" type="text" inputmode="numeric" autocomplete="off" maxlength="11" aria-describedby="bsn-hint" value=""'
        in results.text
    )
    assert f'href="/officer/entries/{story.child_disclosure}"' in results.text
    assert "Showing entries about the person you searched for." in results.text
    linked = {int(n) for n in re.findall(r'href="/officer/entries/(\d+)"', results.text)}
    subject = (
        await running.gw.storage.log_rows(story.child_disclosure, story.child_disclosure + 1)
    )[0].entry.subject
    for index in linked:
        [row] = await running.gw.storage.log_rows(index, index + 1)
        assert row.entry.subject == subject
    # A wrong BSN is refused without being shown back either.
    wrong = await signed_in.submit(form, "/officer/search", bsn="123456789")
    assert wrong.status == 400
    assert "123456789" not in wrong.text
    assert "elfproef" in wrong.text


async def test_paging_a_bsn_search_carries_the_pseudonym_never_the_bsn(
    running: Running, clients: MakeClient, signed_in: OfficerBrowser
) -> None:
    # The provider's relation to the child (issue 19), without entries the search would find.
    await seed_referral(running, "zorg-noord", BSN_CHILD)
    provider = clients("zorg-noord")
    for _ in range(55):
        await provider.send("start-stop", "swt-denhelder", BSN_CHILD, example("start-stop"))
    form = await signed_in.get("/officer/search")
    first = await signed_in.submit(form, "/officer/search", bsn=BSN_CHILD)
    carried = first.form("/officer/search", which=-1)
    assert "bsn" not in carried
    assert re.fullmatch(r"[0-9a-f]{64}", carried["subject"])
    assert carried["after"]
    second = await signed_in.submit(first, "/officer/search", which=-1)
    no_bsn_in(first.text + second.text)
    first_rows = set(re.findall(r'href="/officer/entries/(\d+)"', first.text))
    second_rows = set(re.findall(r'href="/officer/entries/(\d+)"', second.text))
    assert len(first_rows) == 50
    assert len(second_rows) == 6, "55 messages and the officer's first look at this person"
    assert not first_rows & second_rows


async def test_filters_narrow_the_search_and_a_bad_date_keeps_them_for_correction(
    running: Running, story: Story, signed_in: OfficerBrowser
) -> None:
    form = await signed_in.get("/officer/search", lang="en")
    refused = await signed_in.submit(
        form, "/officer/search", partner="school-de-es", decision="refused"
    )
    rows = re.findall(r"<tr>\s*<td><a href=\"/officer/entries/(\d+)\"", refused.text)
    assert len(rows) == 5, "as sender (3) or as recipient (2)"
    narrower = await signed_in.submit(
        form,
        "/officer/search",
        partner="school-de-es",
        decision="refused",
        purpose="evaluation-feedback",
    )
    rows = re.findall(r"<tr>\s*<td><a href=\"/officer/entries/(\d+)\"", narrower.text)
    assert len(rows) == 3
    today = running.clock.now().date().isoformat()
    bad = await signed_in.submit(
        form, "/officer/search", partner="school-de-es", since="yesterday", until=today
    )
    assert bad.status == 400
    assert (
        "&#39;From date&#39; must be a date" in bad.text or "'From date' must be a date" in bad.text
    )
    assert '<option value="school-de-es" selected>' in bad.text
    assert f'value="{today}"' in bad.text


async def test_an_entry_shows_everything_the_log_holds_and_its_verified_proof(
    running: Running, story: Story, signed_in: OfficerBrowser
) -> None:
    [row] = await running.gw.storage.log_rows(story.child_disclosure, story.child_disclosure + 1)
    page = await signed_in.get(f"/officer/entries/{story.child_disclosure}", lang="en")
    assert page.status == 200
    assert "Verified: this entry is in the log" in page.text
    entry = row.entry
    for value in (
        entry.exchange_id,
        entry.disclosure_id,
        entry.subject,
        entry.payload_sha256,
        entry.legal_basis["reference"] if entry.legal_basis else None,
        *entry.fields,
    ):
        assert value is not None
        assert str(value) in page.text
    assert "Zorgaanbieder Noord" in page.text
    assert "Evaluation feedback" in page.text
    no_bsn_in(page.text)


async def test_an_entry_not_yet_in_a_checkpoint_says_so(
    running: Running, story: Story, signed_in: OfficerBrowser, clients: MakeClient
) -> None:
    sent = await clients("zorg-noord").send(
        "start-stop", "swt-denhelder", BSN_CHILD, example("start-stop")
    )
    index = sent["disclosures"][0]["log_index"]
    page = await signed_in.get(f"/officer/entries/{index}", lang="en")
    assert "Not yet covered by a signed checkpoint" in page.text
    await running.gw.sequencer().integrate()
    page = await signed_in.get(f"/officer/entries/{index}", lang="en")
    assert "Verified: this entry is in the log" in page.text


async def test_an_edited_leaf_is_not_proven_included(running: Running, story: Story) -> None:
    [row] = await running.gw.storage.log_rows(story.child_disclosure, story.child_disclosure + 1)
    honest = await prove_entry(running.gw, row)
    assert honest.status == "verified"
    edited = LogRow(row.index, row.leaf.replace(b"swt-denhelder", b"school-de-es"))
    proof = await prove_entry(running.gw, edited)
    assert (proof.status, proof.problem) == ("failed", "entry.proof_mismatch")


async def test_reviewing_a_break_glass_use_is_saved_and_logged(
    running: Running, story: Story, signed_in: OfficerBrowser
) -> None:
    queue = await signed_in.get("/officer/break-glass", lang="en")
    assert queue.status == 200
    assert JUSTIFICATION in queue.text
    assert "Waiting for review (1)" in queue.text
    action = f"/officer/break-glass/{story.break_glass_exchange}/review"
    unanswered = await signed_in.submit(queue, action, note="no choice made")
    assert unanswered.status == 400
    assert "Choose justified or not justified." in unanswered.text
    before = await running.gw.storage.log_size()
    saved = await signed_in.submit(
        queue, action, judgement="unjustified", note="Er was tijd om toestemming te vragen."
    )
    assert (saved.status, saved.headers["Location"]) == (303, "/officer/break-glass?saved=1")
    [review] = [e for e in await entries_since(running, before) if e.decision != "audit_access"]
    assert (review.decision, review.reason, review.exchange_id) == (
        "break_glass_reviewed",
        "unjustified",
        story.break_glass_exchange,
    )
    assert review.sender == Sender(OFFICER, ACTOR, "privacy_officer")
    after = await signed_in.get("/officer/break-glass?saved=1", lang="en")
    assert "Your review was saved and logged." in after.text
    assert "Waiting for review (0)" in after.text
    assert "Er was tijd om toestemming te vragen." in after.text
    [record] = await running.gw.storage.break_glass_records(status="unjustified", limit=5)
    assert record.reviewed_by == OFFICER


async def test_reviewing_an_unknown_exchange_is_not_found(
    running: Running, story: Story, signed_in: OfficerBrowser
) -> None:
    queue = await signed_in.get("/officer/break-glass")
    page = await signed_in.submit(
        queue, f"/officer/break-glass/{story.break_glass_exchange}/review"
    )
    assert page.status == 400
    csrf = queue.form(f"/officer/break-glass/{story.break_glass_exchange}/review")["csrf"]
    missing = await signed_in.post(
        "/officer/break-glass/ex_nothing/review", {"csrf": csrf, "judgement": "justified"}
    )
    assert missing.status == 404


async def test_refusal_patterns_rank_partners_and_name_what_would_help(
    running: Running, story: Story, signed_in: OfficerBrowser
) -> None:
    page = await signed_in.get("/officer/refusals", lang="en")
    assert page.status == 200
    matrix = page.text[page.text.index('id="matrix-h"') : page.text.index('id="repeated-h"')]
    assert matrix.index("Basisschool De Es") < matrix.index("Sociaal Wijkteam Den Helder")
    repeated = page.text[page.text.index('id="repeated-h"') :]
    assert "Consent forms or agreements needed" in repeated
    assert "This organisation or role may not send this purpose" in repeated
    counts = re.findall(r'<td class="num">(\d+)</td>', repeated)
    assert counts == ["3", "2"]
    dutch = await signed_in.get("/officer/refusals", lang="nl")
    assert "Toestemmingsformulieren of afspraken nodig" in dutch.text


async def test_the_subject_report_page_is_printable_dated_signed_and_without_bsn(
    running: Running, story: Story, signed_in: OfficerBrowser
) -> None:
    form = await signed_in.get("/officer/subject-report", lang="en")
    before = await running.gw.storage.log_size()
    report = await signed_in.submit(form, "/officer/subject-report", bsn=BSN_CHILD)
    assert report.status == 200
    assert running.clock.now().strftime("%Y-%m-%d") in report.text
    assert OFFICER_NAME in report.text
    assert ACTOR in report.text
    assert "Evaluation feedback" in report.text
    assert "Jeugdwet art. 7.4.0 lid 2" in report.text
    no_bsn_in(report.text)
    [look] = await entries_since(running, before)
    assert (look.decision, look.reason) == ("audit_access", "subject_access_report")
    assert look.sender == Sender(OFFICER, ACTOR, "privacy_officer")
    assert look.subject is not None
    assert look.subject not in report.text


async def test_sign_in_searches_views_reports_and_sign_out_are_all_logged(
    running: Running, story: Story, browser: OfficerBrowser
) -> None:
    start = await running.gw.storage.log_size()
    await browser.sign_in(await issue_link(running))
    search = await browser.get("/officer/search")
    await browser.submit(search, "/officer/search", bsn=BSN_CHILD)
    await browser.submit(search, "/officer/search", purpose="evaluation-feedback")
    await browser.get(f"/officer/entries/{story.child_disclosure}")
    report = await browser.get("/officer/subject-report")
    await browser.submit(report, "/officer/subject-report", bsn=BSN_OTHER)
    await browser.submit(await browser.get("/officer/"), "/officer/sign-out")
    logged = [e for e in await entries_since(running, start) if e.decision != "officer_link_issued"]
    assert [(e.decision, e.reason) for e in logged] == [
        ("officer_signed_in", "sign_in_link"),
        ("audit_access", "search_by_subject"),
        ("audit_access", "search"),
        ("audit_access", "entry_viewed"),
        ("audit_access", "subject_access_report"),
        ("officer_signed_out", None),
    ]
    assert all(e.sender == Sender(OFFICER, ACTOR, "privacy_officer") for e in logged)
    [child] = await running.gw.storage.log_rows(story.child_disclosure, story.child_disclosure + 1)
    assert logged[1].subject == child.entry.subject
    assert logged[2].details == {"filters": {"purpose": "evaluation-feedback"}}
    assert logged[3].details == {"index": story.child_disclosure}
    for entry in logged:
        no_bsn_in(entry.canonical().decode())


async def test_the_language_chosen_once_stays_for_the_session(
    running: Running, signed_in: OfficerBrowser
) -> None:
    dutch = await signed_in.get("/officer/search")
    assert '<html lang="nl">' in dutch.text
    assert "Het verstrekkingenlog doorzoeken" in dutch.text
    english = await signed_in.get("/officer/search", lang="en")
    assert '<html lang="en">' in english.text
    later = await signed_in.get("/officer/refusals")
    assert '<html lang="en">' in later.text
    assert "Refusal patterns" in later.text


async def test_the_cli_issues_links_for_privacy_officers_only(
    running: Running, storage_url: str | None, browser: OfficerBrowser
) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "gateway.cli", "officer", "sign-in-link", *args]
        command += ["--data", str(running.gw.data.path), "--url", running.url]
        if storage_url is not None:
            command += ["--storage", storage_url]
        return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)

    refused = await asyncio.to_thread(cli, "zorg-noord")
    assert refused.returncode == 2
    assert "not a privacy_officer" in refused.stderr
    assert refused.stdout == ""
    unknown = await asyncio.to_thread(cli, "nobody-here")
    assert unknown.returncode == 2
    issued = await asyncio.to_thread(cli, OFFICER, "--actor", "p-bakker")
    assert issued.returncode == 0, issued.stderr
    link = issued.stdout.strip()
    assert link.startswith(f"{running.url}/officer/sign-in?token=")
    assert "15 minutes" in issued.stderr
    token = link.partition("token=")[2]
    await browser.sign_in(token)
    page = await browser.get("/officer/")
    assert "p-bakker" in page.text
    entries = await log_entries(running)
    [issue] = [e for e in entries if e.decision == "officer_link_issued"]
    assert issue.recipient == OFFICER
    assert token not in issue.canonical().decode()


# -- storage ---------------------------------------------------------------------------------------

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def officer_entry(decision: str) -> LogEntry:
    return LogEntry(time=NOW, decision=decision, sender=Sender(OFFICER, ACTOR, "privacy_officer"))


async def test_a_link_is_taken_once_even_by_two_instances_at_once(
    storage_backend: SqliteBackend | PostgresBackend,
) -> None:
    first, second = await storage_backend.open(), await storage_backend.open()
    links = []
    for _ in range(10):
        _, link = new_sign_in_link(OFFICER, ACTOR, NOW)
        await first.add_officer_link(link, officer_entry("officer_link_issued"), NOW)
        links.append(link)
    taken = await asyncio.gather(
        *(s.take_officer_link(link.link_hash, NOW) for link in links for s in (first, second))
    )
    assert sorted(t.link_hash for t in taken if t is not None) == sorted(
        link.link_hash for link in links
    )
    assert await first.take_officer_link(links[0].link_hash, NOW) is None


async def test_an_expired_link_is_not_handed_out_and_old_ones_are_dropped(
    storage: Storage,
) -> None:
    _, old = new_sign_in_link(OFFICER, ACTOR, NOW)
    await storage.add_officer_link(old, officer_entry("officer_link_issued"), NOW)
    later = NOW + timedelta(minutes=15)
    assert await storage.take_officer_link(old.link_hash, later) is None
    _, expired = new_sign_in_link(OFFICER, ACTOR, NOW)
    await storage.add_officer_link(expired, officer_entry("officer_link_issued"), NOW)
    _, fresh = new_sign_in_link(OFFICER, ACTOR, later + timedelta(minutes=1))
    await storage.add_officer_link(
        fresh, officer_entry("officer_link_issued"), later + timedelta(minutes=1)
    )
    # Issuing the fresh link dropped the expired one: not even an earlier clock finds it now.
    assert await storage.take_officer_link(expired.link_hash, NOW) is None
    assert await storage.take_officer_link(fresh.link_hash, later) is not None


async def test_a_session_is_kept_touched_and_ended_with_its_log_entries(storage: Storage) -> None:
    _, link = new_sign_in_link(OFFICER, ACTOR, NOW)
    secret, session = new_session(link, NOW, "nl")
    signed_in_at = await storage.start_officer_session(
        session, officer_entry("officer_signed_in"), idle_before=NOW - SESSION_IDLE
    )
    assert await storage.officer_session(session.session_hash) == session
    later = NOW + timedelta(minutes=5)
    await storage.touch_officer_session(session.session_hash, later, "en")
    await storage.touch_officer_session(session.session_hash, NOW, "en")  # never back in time
    touched = await storage.officer_session(session.session_hash)
    assert touched is not None
    assert (touched.seen_at, touched.language) == (later, "en")
    ended_at = await storage.end_officer_session(
        session.session_hash, officer_entry("officer_signed_out")
    )
    assert ended_at == signed_in_at + 1
    assert await storage.officer_session(session.session_hash) is None
    assert (
        await storage.end_officer_session(session.session_hash, officer_entry("officer_signed_out"))
        is None
    )
    assert await storage.log_size() == signed_in_at + 2
    assert secret_hash(secret) == session.session_hash


async def test_sessions_idle_past_the_limit_are_dropped_when_the_next_one_starts(
    storage: Storage,
) -> None:
    _, link = new_sign_in_link(OFFICER, ACTOR, NOW)
    _, old = new_session(link, NOW, "nl")
    await storage.start_officer_session(old, officer_entry("officer_signed_in"), NOW - SESSION_IDLE)
    later = NOW + SESSION_IDLE + timedelta(seconds=1)
    _, new = new_session(link, later, "nl")
    await storage.start_officer_session(
        new, officer_entry("officer_signed_in"), later - SESSION_IDLE
    )
    assert await storage.officer_session(old.session_hash) is None
    assert await storage.officer_session(new.session_hash) is not None


def activity_entry(decision: str, when: datetime, **more: Any) -> LogEntry:
    return LogEntry(
        time=when,
        decision=decision,
        sender=Sender(more.pop("sender", "zorg-noord"), "a", "casusregisseur"),
        **more,
    )


async def test_log_activity_counts_per_day_decision_purpose_sender_and_break_glass(
    storage: Storage,
) -> None:
    day = datetime(2026, 11, 24, 23, 59, tzinfo=UTC)
    await storage.append_log(
        [
            activity_entry("disclosed", day, purpose="start-stop"),
            activity_entry("disclosed", day, purpose="start-stop"),
            activity_entry("disclosed", day + timedelta(minutes=2), purpose="start-stop"),
            activity_entry("disclosed", day, purpose="safety-report", break_glass=True),
            activity_entry("refused", day, purpose="start-stop", reason="consent_required"),
            activity_entry("refused", day - timedelta(days=2), purpose="start-stop"),
        ]
    )
    counts = await storage.log_activity(day - timedelta(days=1), day + timedelta(days=1))
    assert counts == [
        ActivityCount(date(2026, 11, 24), "disclosed", "safety-report", "zorg-noord", True, 1),
        ActivityCount(date(2026, 11, 24), "disclosed", "start-stop", "zorg-noord", False, 2),
        ActivityCount(date(2026, 11, 24), "refused", "start-stop", "zorg-noord", False, 1),
        ActivityCount(date(2026, 11, 25), "disclosed", "start-stop", "zorg-noord", False, 1),
    ]


async def test_refusal_counts_group_refusals_of_one_kind_most_frequent_first(
    storage: Storage,
) -> None:
    when = NOW - timedelta(hours=1)
    refusal = {
        "purpose": "closure-notice",
        "recipient": "school-de-es",
        "reason": "consent_required",
    }
    await storage.append_log(
        [
            *(activity_entry("refused", when, sender="swt-denhelder", **refusal) for _ in range(3)),
            activity_entry("refused", when, sender="school-de-es", reason="sender_not_allowed"),
            activity_entry("disclosed", when, sender="school-de-es", reason="statute"),
            activity_entry("refused", NOW + timedelta(days=1), sender="school-de-es"),
        ]
    )
    counts = await storage.refusal_counts(NOW - timedelta(days=1), NOW)
    assert counts == [
        RefusalCount("swt-denhelder", "consent_required", "closure-notice", "school-de-es", 3),
        RefusalCount("school-de-es", "sender_not_allowed", None, None, 1),
    ]


async def test_migration_5_fills_reason_and_break_glass_of_entries_logged_before_it(
    storage_backend: SqliteBackend | PostgresBackend,
) -> None:
    old = [
        activity_entry("disclosed", NOW, purpose="safety-report", break_glass=True),
        activity_entry("refused", NOW, purpose="start-stop", reason="consent_required"),
    ]
    if isinstance(storage_backend, SqliteBackend):
        conn = sqlite3.connect(storage_backend.path, isolation_level=None)
        try:
            conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            for version, statements in SQLITE_MIGRATIONS:
                if version < 5:
                    for statement in statements:
                        conn.execute(statement)
            conn.execute("INSERT INTO meta VALUES ('schema_version', '4')")
            for n, entry in enumerate(old):
                conn.execute(
                    "INSERT INTO log_entries (idx, leaf, time_ms, decision, purpose, sender) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        n,
                        entry.canonical(),
                        int(NOW.timestamp() * 1000),
                        entry.decision,
                        entry.purpose,
                        "zorg-noord",
                    ),
                )
        finally:
            conn.close()
    else:
        await storage_backend.sql_rows(f'CREATE SCHEMA IF NOT EXISTS "{storage_backend.schema}"')
        await storage_backend.sql_rows(
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
        )
        for version, statements in POSTGRES_MIGRATIONS:
            if version < 5:
                for statement in statements:
                    await storage_backend.sql_rows(statement)
        await storage_backend.sql_rows("INSERT INTO meta VALUES ('schema_version', '4')")
        for n, entry in enumerate(old):
            await storage_backend.sql_rows(
                "INSERT INTO log_entries (idx, leaf, time_ms, decision, purpose, sender) "
                "VALUES ($1, $2, $3, $4, $5, $6)",
                n,
                entry.canonical(),
                int(NOW.timestamp() * 1000),
                entry.decision,
                entry.purpose,
                "zorg-noord",
            )
        await storage_backend.sql_rows("UPDATE log_head SET size = 2")
    instance = storage_backend.make()
    assert await storage_backend.migrate(instance) == SCHEMA_VERSION
    await instance.open()
    try:
        activity = await instance.log_activity(NOW - timedelta(days=1), NOW + timedelta(days=1))
        assert [(a.decision, a.break_glass) for a in activity] == [
            ("disclosed", True),
            ("refused", False),
        ]
        refusals = await instance.refusal_counts(NOW - timedelta(days=1), NOW + timedelta(days=1))
        assert [(r.reason, r.count) for r in refusals] == [("consent_required", 1)]
    finally:
        await instance.close()


# -- the rules as plain functions ----------------------------------------------------------------


def test_every_text_exists_in_english_and_dutch_with_the_same_placeholders() -> None:
    placeholder = re.compile(r"\{(\w+)\}")
    for key, (english, dutch) in TEXTS.items():
        assert english.strip(), key
        assert dutch.strip(), key
        assert sorted(placeholder.findall(english)) == sorted(placeholder.findall(dutch)), key


def test_every_decision_and_every_logged_refusal_has_words_in_both_languages() -> None:
    from gateway.service.exchanges import _LOGGED_REFUSALS

    for language in ("nl", "en"):
        t = Translator(language)
        for decision in DECISIONS:
            assert t.has(f"decision.{decision}"), decision
        for reason in _LOGGED_REFUSALS:
            assert t.has(f"reason.{reason}"), reason
            assert t.has(f"hint.{reason}"), reason


def test_every_text_key_a_template_names_exists() -> None:
    templates = Path(__file__).resolve().parents[1] / "gateway" / "officer" / "templates"
    named = set()
    for template in templates.glob("*.html"):
        named |= set(re.findall(r"""t\(["']([a-z_.0-9]+)["']""", template.read_text()))
    named = {key for key in named if not key.endswith(".")}  # prefixes of composed keys
    assert named
    assert named - set(TEXTS) == set()


def test_daily_series_count_break_glass_as_disclosures_too_and_put_the_busiest_first() -> None:
    period = period_ending(datetime(2026, 11, 25, 12, tzinfo=UTC), 7)
    assert (period.days[0], period.days[-1]) == (date(2026, 11, 19), date(2026, 11, 25))
    counts = [
        ActivityCount(date(2026, 11, 25), "disclosed", "safety-report", "school-de-es", True, 2),
        ActivityCount(date(2026, 11, 24), "disclosed", "start-stop", "zorg-noord", False, 5),
        ActivityCount(date(2026, 11, 24), "refused", "start-stop", "school-de-es", False, 1),
        ActivityCount(date(2026, 11, 24), "audit_access", None, OFFICER, False, 9),
        ActivityCount(date(2026, 11, 1), "disclosed", "start-stop", "zorg-noord", False, 7),
    ]
    by_purpose = daily_series(counts, period, "purpose")
    assert [s.key for s in by_purpose] == ["start-stop", "safety-report"]
    assert by_purpose[0].totals == (5, 1, 0)
    assert by_purpose[0].busiest == (date(2026, 11, 24), 6)
    assert by_purpose[1].totals == (2, 0, 2)
    [everything] = daily_series(counts, period, None)
    assert everything.totals == (7, 1, 2)
    [empty] = daily_series([], period, None)
    assert empty.totals == (0, 0, 0)


def test_refusal_patterns_rank_partners_and_keep_only_repeats() -> None:
    counts = [
        RefusalCount("swt-denhelder", "consent_required", "closure-notice", "school-de-es", 4),
        RefusalCount(
            "school-de-es", "sender_not_allowed", "evaluation-feedback", "swt-denhelder", 2
        ),
        RefusalCount("school-de-es", "consent_required", "information-reply", "swt-denhelder", 3),
        RefusalCount("zorg-noord", "schema_violation", "start-stop", "swt-denhelder", 1),
    ]
    matrix = refusal_matrix(counts)
    assert matrix.reasons == ("consent_required", "sender_not_allowed", "schema_violation")
    assert matrix.rows == (
        ("school-de-es", 5, (3, 2, 0)),
        ("swt-denhelder", 4, (4, 0, 0)),
        ("zorg-noord", 1, (0, 0, 1)),
    )
    assert [c.count for c in repeated_refusals(counts)] == [4, 3, 2]


def test_a_chart_escapes_its_texts_and_draws_one_bar_per_nonzero_value() -> None:
    period = period_ending(datetime(2026, 11, 25, tzinfo=UTC), 7)
    counts = [
        ActivityCount(date(2026, 11, 25), "disclosed", "x", "p", True, 2),
        ActivityCount(date(2026, 11, 23), "refused", "x", "p", False, 1),
    ]
    [series] = daily_series(counts, period, None)
    svg = str(
        daily_bar_chart(
            series,
            chart_id="c-1",
            title="<script>alert(1)</script>",
            description="a & b",
            labels={"disclosed": "D", "refused": "R", "break_glass": "B"},
        )
    )
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    assert "a &amp; b" in svg
    assert svg.count("<rect") == 3
    assert 'role="img"' in svg
    assert 'aria-labelledby="c-1-t c-1-d"' in svg


async def test_a_tree_head_with_a_forged_signature_or_wrong_nodes_is_not_verified(
    running: Running, story: Story
) -> None:
    latest = await running.gw.storage.latest_checkpoint()
    assert latest is not None
    keys = subtree_nodes_for_range(0, latest.size)
    nodes = await running.gw.storage.tree_nodes(keys)
    origin = running.gw.settings.log_origin
    verifiers = running.gw.log_verifiers
    assert verify_tree_head(latest, verifiers, origin, nodes).size == latest.size
    with pytest.raises(IntegrityProblem) as wrong_nodes:
        verify_tree_head(latest, verifiers, origin, {**nodes, keys[0]: b"\0" * 32})
    assert wrong_nodes.value.key == "integrity.bad_root"
    with pytest.raises(IntegrityProblem) as missing:
        verify_tree_head(latest, verifiers, origin, {})
    assert missing.value.key == "integrity.missing_nodes"
    forged = dataclasses.replace(latest, note=latest.note.replace("\n\n", "\nextra\n\n", 1))
    with pytest.raises(IntegrityProblem) as unsigned:
        verify_tree_head(forged, verifiers, origin, nodes)
    assert unsigned.value.key == "integrity.bad_signature"


async def test_numbers_in_paths_and_queries_that_are_not_ascii_digits_are_not_server_errors(
    signed_in: OfficerBrowser,
) -> None:
    """ "¹" and "٣" pass str.isdigit(); they must read as "not a number", not crash int()."""
    for path in ("/officer/entries/¹", "/officer/entries/٣", "/officer/entries/" + "9" * 5000):
        assert (await signed_in.get(path)).status == 404
    assert (await signed_in.get("/officer/?days=¹")).status == 200
    assert (await signed_in.get("/officer/search?after=٣")).status == 200


async def test_a_pupil_without_a_bsn_is_found_and_reported_by_onderwijsnummer(
    running: Running, clients: MakeClient, signed_in: OfficerBrowser
) -> None:
    pupil = {"identifier": {"system": ONDERWIJSNUMMER_SYSTEM, "value": ONDERWIJSNUMMER_CHILD}}
    # The provider's relation to the pupil (issue 19), without entries the search would find.
    await seed_referral(running, "zorg-noord", pupil)
    sent = await clients("zorg-noord").request(
        "POST",
        "/v1/exchanges",
        json_body={
            "purpose": "evaluation-feedback",
            "to": "swt-denhelder",
            "subject": pupil,
            "payload": example("evaluation-feedback"),
        },
    )
    index = sent["disclosures"][0]["log_index"]
    form = await signed_in.get("/officer/search", lang="en")
    assert f'<option value="{ONDERWIJSNUMMER_SYSTEM}">' in form.text
    found = await signed_in.submit(
        form, "/officer/search", system=ONDERWIJSNUMMER_SYSTEM, bsn=ONDERWIJSNUMMER_CHILD
    )
    assert found.status == 200
    assert ONDERWIJSNUMMER_CHILD not in found.text
    assert re.findall(r'href="/officer/entries/(\d+)"', found.text) == [str(index)]
    # The same digits read as a BSN are another person (and no valid BSN at all).
    as_bsn = await signed_in.submit(form, "/officer/search", bsn=ONDERWIJSNUMMER_CHILD)
    assert as_bsn.status == 400
    wrong = await signed_in.submit(
        form, "/officer/search", system=ONDERWIJSNUMMER_SYSTEM, bsn="102000018"
    )
    assert wrong.status == 400
    assert "102000018" not in wrong.text
    assert "does not have the form of the chosen kind of number" in wrong.text
    report_form = await signed_in.get("/officer/subject-report", lang="en")
    report = await signed_in.submit(
        report_form,
        "/officer/subject-report",
        system=ONDERWIJSNUMMER_SYSTEM,
        bsn=ONDERWIJSNUMMER_CHILD,
    )
    assert report.status == 200
    assert ONDERWIJSNUMMER_CHILD not in report.text
    looks = [
        row.entry
        for row in await running.gw.storage.log_rows(0, await running.gw.storage.log_size())
        if row.entry.decision == "audit_access"
    ]
    assert [(e.reason, e.subject_system) for e in looks] == [
        ("search_by_subject", ONDERWIJSNUMMER_SYSTEM),
        ("subject_access_report", ONDERWIJSNUMMER_SYSTEM),
    ]
