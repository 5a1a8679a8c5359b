"""The officer's workspace shows a refusal's own texts in the page's language: Dutch from the
same reviewed catalogue as the API, English on an English page."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from gateway.i18n import negotiate_language
from tests.conftest import Running
from tests.officer_helpers import OfficerBrowser, issue_link


@pytest.fixture
async def browser(running: Running) -> AsyncIterator[OfficerBrowser]:
    made = OfficerBrowser(running)
    yield made
    await made.close()


async def test_a_dutch_page_shows_a_refusal_in_dutch_and_an_english_page_in_english(
    running: Running, browser: OfficerBrowser
) -> None:
    await browser.sign_in(await issue_link(running))
    dutch = await browser.get("/officer/entries/999999")
    assert dutch.status == 404
    assert "het log heeft deze logregel niet" in dutch.text
    assert "Controleer de id" in dutch.text
    assert "the log has no such entry" not in dutch.text
    english = await browser.get("/officer/entries/999999", lang="en")
    assert english.status == 404
    assert "the log has no such entry" in english.text
    assert "het log heeft deze logregel niet" not in english.text


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "nl"),
        ("", "nl"),
        ("nl", "nl"),
        ("nl-NL,nl;q=0.9", "nl"),
        ("en", "en"),
        ("en-GB", "en"),
        ("en;q=0.1, nl;q=0.9", "nl"),
        ("nl;q=0.5, en;q=0.8", "en"),
        ("fr, en;q=0.5", "en"),
        ("de-DE, fr", "nl"),
        ("en, nl", "en"),
        ("en;q=0", "nl"),
        ("*", "nl"),
        ("en;q=2", "nl"),
        ("en;level=1", "nl"),
        ("e n", "nl"),
        ("en;q=0.1, " * 200, "nl"),
    ],
)
def test_accept_language_chooses_dutch_unless_english_is_preferred(
    header: str | None, language: str
) -> None:
    assert negotiate_language(header) == language
