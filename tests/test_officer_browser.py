"""The officer's workspace in a real browser: Debian's Chromium, headless, driven by Playwright.

An officer signs in with a link, searches by BSN, opens an entry, reviews a break-glass use and
prints a subject access report; a screenshot of each page is saved under test-output/officer/.
Also: the search works from the keyboard alone, every field has a label, headings do not skip a
level, and the browser reports no error (a Content-Security-Policy violation would be one).

Playwright's own browser download is not used. Without /usr/bin/chromium these tests skip,
except with CI=true, where they fail (`make test` installs the `chromium` package).
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from gateway.client.http import PartnerClient
from tests.conftest import BSN_CHILD, BSN_OTHER, Running
from tests.helpers import linked_pseudonym
from tests.officer_helpers import ACTOR, JUSTIFICATION, OFFICER_NAME, Story, issue_link, tell_story

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[1] / "test-output" / "officer"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MakeClient = Callable[..., PartnerClient]

if not CHROMIUM.exists():
    if os.environ.get("CI") == "true":
        pytest.fail(
            f"{CHROMIUM} is missing and CI=true requires the browser tests: "
            "install Debian's chromium package (make chromium)",
            pytrace=False,
        )
    pytest.skip(
        f"{CHROMIUM} is not installed (make chromium installs it); browser tests skipped",
        allow_module_level=True,
    )

from playwright.async_api import BrowserContext, Page, async_playwright, expect  # noqa: E402


@pytest.fixture
async def context(tmp_path: Path) -> AsyncIterator[BrowserContext]:
    """A fresh Chromium profile, headless, English-speaking."""
    async with async_playwright() as playwright:
        made = await playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            locale="en-GB",
            viewport={"width": 1280, "height": 900},
        )
        try:
            yield made
        finally:
            await made.close()


class Watched:
    """A page whose console errors and failed scripts are collected, for a final check."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.problems: list[str] = []
        page.on(
            "console",
            lambda message: self.problems.append(message.text) if message.type == "error" else None,
        )
        page.on("pageerror", lambda error: self.problems.append(str(error)))


async def watched_page(context: BrowserContext) -> Watched:
    return Watched(await context.new_page())


async def shoot(page: Page, backend: str, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{backend}-{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 5000, f"{path} looks empty"
    return path


async def check_accessible_basics(page: Page) -> None:
    """Every visible field labelled, headings in order from one h1, tables with scoped headers."""
    unlabelled = await page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea')]
            .filter(e => e.type !== 'hidden')
            .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
            .map(e => e.name)"""
    )
    assert unlabelled == []
    levels = await page.evaluate(
        "() => [...document.querySelectorAll('h1,h2,h3,h4')].map(h => Number(h.tagName[1]))"
    )
    assert levels[0] == 1
    assert levels.count(1) == 1
    for before, after in itertools.pairwise(levels):
        assert after <= before + 1, levels
    unscoped = await page.evaluate(
        "() => [...document.querySelectorAll('th')].filter(th => !th.getAttribute('scope')).length"
    )
    assert unscoped == 0
    assert await page.get_attribute("html", "lang") in ("nl", "en")


def no_bsn(text: str) -> None:
    assert BSN_CHILD not in text
    assert BSN_OTHER not in text


@pytest.fixture
async def story(running: Running, clients: MakeClient) -> Story:
    return await tell_story(running, clients)


async def test_an_officer_signs_in_searches_reviews_and_prints_a_report_in_chromium(
    running: Running, story: Story, context: BrowserContext, backend: str
) -> None:
    watched = await watched_page(context)
    page = watched.page
    token = await issue_link(running)

    # Sign in: the link shows a button; pressing it starts the session.
    await page.goto(f"{running.url}/officer/sign-in?token={token}&lang=en")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    await check_accessible_basics(page)
    await shoot(page, backend, "1-sign-in")
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{running.url}/officer/")
    await expect(page.locator("#integrity-status")).to_contain_text("Verified")
    await expect(page.get_by_text(f"Signed in as {ACTOR}")).to_be_visible()
    charts = page.locator("svg.chart[role=img]")
    assert await charts.count() >= 7
    await check_accessible_basics(page)
    await shoot(page, backend, "2-overview")

    # Search by BSN: the number goes in, and never comes back out.
    await page.get_by_role("link", name="Search the log").click()
    await page.get_by_label("Number of the person").fill(BSN_CHILD)
    await page.get_by_role("button", name="Search", exact=True).click()
    await expect(page.get_by_role("heading", name="Results")).to_be_visible()
    assert await page.get_by_label("Number of the person").input_value() == ""
    no_bsn(await page.content())
    await check_accessible_basics(page)
    await shoot(page, backend, "3-search-results")

    # Open the disclosure: every field, and its inclusion proof verified.
    await page.get_by_role("link", name=f"Open entry {story.child_disclosure}").click()
    await expect(page.locator("#proof-status")).to_contain_text(
        "Verified: this entry is in the log"
    )
    await expect(page.get_by_text("Zorgaanbieder Noord").first).to_be_visible()
    no_bsn(await page.content())
    await check_accessible_basics(page)
    await shoot(page, backend, "4-entry")

    # Review the break-glass use.
    await page.get_by_role("link", name="Break-glass reviews").click()
    await expect(page.get_by_text(JUSTIFICATION)).to_be_visible()
    await check_accessible_basics(page)
    await shoot(page, backend, "5-break-glass-queue")
    await page.get_by_label("Justified", exact=True).check()
    await page.get_by_label("Note").fill("Acuut signaal; melden zonder toestemming paste hier.")
    await page.get_by_role("button", name="Save review").click()
    await expect(page.get_by_role("status")).to_have_text("Your review was saved and logged.")
    await expect(page.get_by_role("heading", name="Waiting for review (0)")).to_be_visible()
    await shoot(page, backend, "6-break-glass-reviewed")
    [reviewed] = await running.gw.storage.break_glass_records(status="justified", limit=5)
    assert reviewed.exchange_id == story.break_glass_exchange

    # The subject access report, on screen and as printed.
    await page.get_by_role("link", name="Subject access report").click()
    await page.get_by_label("Number of the person").fill(BSN_CHILD)
    await page.get_by_role("button", name="Make the report").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Subject access report (AVG art. 15)"
    )
    text = await page.locator("main").inner_text()
    assert running.clock.now().strftime("%Y-%m-%d") in text
    assert OFFICER_NAME in text
    assert ACTOR in text
    no_bsn(await page.content())
    await check_accessible_basics(page)
    await shoot(page, backend, "7-subject-report")
    await page.emulate_media(media="print")
    await expect(page.locator("header.top")).to_be_hidden()
    await shoot(page, backend, "8-subject-report-print")
    await page.emulate_media(media="screen")

    assert watched.problems == []

    # Sign out: the same browser is sent back to signing in.
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("status")).to_contain_text("You are signed out")
    await page.goto(f"{running.url}/officer/")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Please sign in")
    await shoot(page, backend, "10-after-sign-out")
    assert watched.problems == [
        "Failed to load resource: the server responded with a status of 401 (Unauthorized)"
    ]


async def test_the_search_works_from_the_keyboard_alone(
    running: Running, story: Story, context: BrowserContext, backend: str
) -> None:
    watched = await watched_page(context)
    page = watched.page
    await page.goto(f"{running.url}/officer/sign-in?token={await issue_link(running)}&lang=nl")
    await page.keyboard.press("Tab")  # the skip link comes first
    focused = await page.evaluate("() => document.activeElement.className")
    assert focused == "skip"
    # Tab to the sign-in button and press it.
    for _ in range(10):
        await page.keyboard.press("Tab")
        if await page.evaluate("() => document.activeElement.tagName") == "BUTTON":
            label = await page.evaluate("() => document.activeElement.textContent")
            if label.strip() == "Aanmelden":
                break
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{running.url}/officer/")
    await page.goto(f"{running.url}/officer/search")
    for _ in range(30):
        await page.keyboard.press("Tab")
        if await page.evaluate("() => document.activeElement.id") == "bsn":
            break
    else:
        pytest.fail("the BSN field cannot be reached with Tab")
    outline = await page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid", "focus is visible"
    await page.keyboard.type(BSN_OTHER)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Resultaten")).to_be_visible()
    rows = page.locator("table.results tbody tr")
    assert await rows.count() >= 3  # two refused requests and the break-glass report
    no_bsn(await page.content())
    await shoot(page, backend, "9-keyboard-search-nl")
    assert watched.problems == []


async def test_the_stylesheet_gives_aa_contrast_for_text_links_and_buttons(
    running: Running, context: BrowserContext
) -> None:
    page = await context.new_page()
    await page.goto(f"{running.url}/officer/sign-in")
    colours = await page.evaluate(
        """() => {
            const pick = s => { const e = document.querySelector(s); const c = getComputedStyle(e);
                                return [c.color, c.backgroundColor]; };
            const link = getComputedStyle(document.querySelector('a[hreflang]')).color;
            return {body: pick('body'), link: [link, 'rgb(255, 255, 255)'], button: pick('main button')};
        }"""
    )
    for name, (foreground, background) in colours.items():
        ratio = contrast(parse_rgb(foreground), parse_rgb(background))
        assert ratio >= 4.5, (name, foreground, background, ratio)


async def test_the_operators_officer_erases_a_link_in_chromium_after_confirming(
    running: Running, story: Story, context: BrowserContext, backend: str
) -> None:
    watched = await watched_page(context)
    page = watched.page
    await page.goto(f"{running.url}/officer/sign-in?token={await issue_link(running)}&lang=en")
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{running.url}/officer/")
    await page.get_by_role("link", name="Erase a link").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Erase a person's link to the records (AVG art. 17)"
    )
    await expect(page.get_by_role("heading", name="What erasure does not do")).to_be_visible()
    await check_accessible_basics(page)
    await shoot(page, backend, "11-erase-form")
    await page.get_by_label("Number of the person").fill(BSN_CHILD)
    await page.get_by_label("Reason").select_option("objection")
    # Without the confirmation the browser does not send the form.
    await page.get_by_role("button", name="Erase the link for good").click()
    assert page.url == f"{running.url}/officer/erase"
    await expect(page.get_by_role("heading", level=1)).not_to_have_text("Link erased")
    assert await linked_pseudonym(running, BSN_CHILD) is not None
    await page.get_by_label("I have read what erasure does and does not do").check()
    await page.get_by_role("button", name="Erase the link for good").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Link erased")
    assert await linked_pseudonym(running, BSN_CHILD) is None
    no_bsn(await page.content())
    await check_accessible_basics(page)
    await shoot(page, backend, "12-erased")
    await page.get_by_role("link", name="Open log entry").click()
    await expect(page.get_by_text("a person's link to the records erased").first).to_be_visible()
    # The search by that BSN finds nothing now.
    await page.get_by_role("link", name="Search the log").click()
    await page.get_by_label("Number of the person").fill(BSN_CHILD)
    await page.get_by_role("button", name="Search", exact=True).click()
    await expect(page.get_by_text("No entries match.")).to_be_visible()
    assert watched.problems == []


def parse_rgb(text: str) -> tuple[int, int, int]:
    r, g, b = (int(v) for v in re.findall(r"\d+", text)[:3])
    return r, g, b


def contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    """WCAG 2 contrast ratio of two sRGB colours."""

    def luminance(rgb: tuple[int, int, int]) -> float:
        channels = []
        for value in rgb:
            c = value / 255
            channels.append(c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4)
        return 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2]

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)
