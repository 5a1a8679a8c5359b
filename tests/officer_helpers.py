"""Shared pieces of the officer workspace's tests: a cookie-keeping browser over HTTP, links, a story.

`OfficerBrowser` behaves like a browser as far as the server can tell: it keeps cookies, submits
forms with the hidden fields the page gave it, and follows nothing unless told to.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from gateway.client.http import GatewayClientError, PartnerClient
from gateway.officer.sessions import new_sign_in_link
from tests.conftest import BSN_CHILD, BSN_OTHER, Running, example
from tests.helpers import break_glass, seed_referral

__all__ = [
    "ACTOR",
    "JUSTIFICATION",
    "OFFICER",
    "OFFICER_NAME",
    "OfficerBrowser",
    "Page",
    "Story",
    "hidden_fields",
    "issue_link",
    "tell_story",
]

OFFICER = "fg-denhelder"
OFFICER_NAME = "Functionaris gegevensbescherming gemeente Den Helder"
ACTOR = "j-de-vries"
JUSTIFICATION = "Kind vertelt op school over geweld thuis; het team moet vandaag handelen."
MakeClient = Callable[..., PartnerClient]


async def issue_link(running: Running, actor: str = ACTOR, officer: str = OFFICER) -> str:
    """A fresh one-time sign-in token, stored the way `gateway officer sign-in-link` does."""
    from gateway.log.entry import LogEntry

    now = running.gw.now()
    token, link = new_sign_in_link(officer, actor, now)
    entry = LogEntry(time=now, decision="officer_link_issued", recipient=officer)
    await running.gw.storage.add_officer_link(link, entry, now)
    return token


@dataclass(frozen=True)
class Page:
    """One answer as a browser gets it."""

    status: int
    headers: Mapping[str, str]
    text: str
    set_cookies: tuple[str, ...]

    def form(self, action: str, which: int = 0) -> dict[str, str]:
        """The hidden fields of the first (or `which`) form posting to `action`."""
        return hidden_fields(self.text, action, which)


def hidden_fields(html: str, action: str, which: int = 0) -> dict[str, str]:
    forms = re.findall(
        rf'<form method="post" action="{re.escape(action)}"[^>]*>(.*?)</form>', html, re.S
    )
    assert forms, f"no form posting to {action}"
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', forms[which]))


class OfficerBrowser:
    """A browser's worth of HTTP: one cookie jar, no redirects followed unless asked."""

    def __init__(self, running: Running) -> None:
        self.running = running
        # unsafe: the test server is 127.0.0.1, and a jar ignores cookies of bare IPs otherwise.
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def close(self) -> None:
        await self.session.close()

    async def request(
        self,
        method: str,
        path: str,
        *,
        form: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        follow: bool = False,
    ) -> Page:
        async with self.session.request(
            method,
            self.running.url + path,
            data=None if form is None else dict(form),
            params=params,
            headers=headers,
            allow_redirects=follow,
        ) as response:
            return Page(
                response.status,
                response.headers,
                await response.text(),
                tuple(response.headers.getall("Set-Cookie", ())),
            )

    async def get(self, path: str, **params: str) -> Page:
        return await self.request("GET", path, params=params or None)

    async def post(self, path: str, form: Mapping[str, str]) -> Page:
        return await self.request("POST", path, form=form)

    async def submit(self, page: Page, action: str, which: int = 0, **fields: str) -> Page:
        """Submit a form of `page` with its hidden fields and these values."""
        return await self.post(action, {**page.form(action, which), **fields})

    async def sign_in(self, token: str) -> Page:
        """Open the link, press the button, land on the overview."""
        page = await self.get("/officer/sign-in", token=token)
        assert page.status == 200, page.text
        answer = await self.submit(page, "/officer/sign-in")
        assert answer.status == 303, answer.text
        assert answer.headers["Location"] == "/officer/"
        return answer

    def cookie(self, name: str) -> str | None:
        for cookie in self.session.cookie_jar:
            if cookie.key == name:
                return cookie.value
        return None


@dataclass(frozen=True)
class Story:
    """What happened before the officer looks: log indices of the interesting entries."""

    child_disclosure: int
    break_glass_exchange: str
    break_glass_index: int


async def tell_story(running: Running, clients: MakeClient) -> Story:
    """Disclosures, refusals of two kinds (repeated) and one break-glass safety report."""
    provider = clients("zorg-noord")
    team = clients("swt-denhelder")
    school = clients("school-de-es")
    # The provider's relation to the child (issue 19), without entries the pages would count.
    await seed_referral(running, "zorg-noord", BSN_CHILD)
    sent = await provider.send(
        "evaluation-feedback", "swt-denhelder", BSN_CHILD, example("evaluation-feedback")
    )
    await provider.send("start-stop", "swt-denhelder", BSN_CHILD, example("start-stop"))
    for _ in range(3):
        with pytest.raises(GatewayClientError) as refused:
            await school.send(
                "evaluation-feedback", "swt-denhelder", BSN_CHILD, example("evaluation-feedback")
            )
        assert refused.value.code == "sender_not_allowed"
    for _ in range(2):
        with pytest.raises(GatewayClientError) as refused:
            await team.send(
                "information-request", "school-de-es", BSN_OTHER, example("information-request")
            )
        assert refused.value.code == "consent_required"
    glass: dict[str, Any] = await school.send(
        "safety-report",
        "swt-denhelder",
        BSN_OTHER,
        example("safety-report"),
        break_glass=break_glass(
            JUSTIFICATION,
            "Bescherming van het kind tegen geweld thuis.",
            "De moeder is zelf slachtoffer en durft niet te tekenen.",
        ),
    )
    await running.gw.sequencer().integrate()
    return Story(
        child_disclosure=sent["disclosures"][0]["log_index"],
        break_glass_exchange=glass["exchange_id"],
        break_glass_index=glass["disclosures"][0]["log_index"],
    )
