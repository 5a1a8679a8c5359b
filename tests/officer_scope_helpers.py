"""A town with three privacy officers, and a story in which each organisation did something.

The shipped configuration's officer (`fg-denhelder`) is the gateway operator's and oversees
"all"; the town adds the school's own officer (`fg-school-de-es`, oversees the school) and the
care provider's (`fg-zorg-noord`, oversees the provider), each with a fresh key pair. The story
leaves entries of every kind an officer might look for: a provider-to-team exchange the school
has no part in, the school's own disclosures and refusals (as sender and as recipient), a
break-glass use by the school and one by the provider, and a refused token of no known client.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from gateway.client.assertion import make_client_assertion
from gateway.client.http import GatewayClientError, PartnerClient
from gateway.client.keygen import generate_partner_jwks
from gateway.clock import FixedClock
from gateway.runtime import build_gateway
from gateway.web import create_app
from tests.conftest import BSN_CHILD, BSN_OTHER, Running, copy_config, example
from tests.helpers import Answer, Http, break_glass, seed_referral

__all__ = [
    "OPERATOR_OFFICER",
    "PROVIDER_OFFICER",
    "SCHOOL_OFFICER",
    "ScopeStory",
    "ScopedTown",
    "add_officers",
    "scoped_running_fixture",
    "scoped_town_fixture",
    "tell_scope_story",
]

OPERATOR_OFFICER = "fg-denhelder"
SCHOOL_OFFICER = "fg-school-de-es"
PROVIDER_OFFICER = "fg-zorg-noord"
OVERSEEN = {SCHOOL_OFFICER: "school-de-es", PROVIDER_OFFICER: "zorg-noord"}
MakeClient = Callable[..., PartnerClient]


def add_officers(config: Path, clock: FixedClock) -> dict[str, dict[str, Any]]:
    """Register the school's and the provider's officers in `config`; their private JWKS."""
    private: dict[str, dict[str, Any]] = {}
    with (config / "partners.toml").open("a") as partners:
        for officer, organisation in OVERSEEN.items():
            keys, public = generate_partner_jwks(officer, now=clock.now(), with_encryption=False)
            (config / "keys" / f"{officer}.jwks.json").write_text(json.dumps(public))
            private[officer] = keys
            partners.write(
                "\n[[partner]]\n"
                f'id = "{officer}"\n'
                f'name = "Privacyfunctionaris {organisation}"\n'
                'kind = "privacy_officer"\n'
                f'oversees = ["{organisation}"]\n'
                f'jwks = "keys/{officer}.jwks.json"\n'
            )
    return private


@dataclass
class ScopedTown:
    """The running gateway, raw HTTP to it, and tokens for any of its three officers."""

    running: Running
    http: Http
    officer_keys: dict[str, dict[str, Any]]

    async def token(self, officer: str) -> str:
        if officer == OPERATOR_OFFICER:
            return await self.http.token(officer)
        signing = self.officer_keys[officer]["keys"][0]
        assertion = make_client_assertion(
            signing,
            partner_id=officer,
            audience=self.running.gw.settings.id,
            actor_id=f"{officer}-auditor",
            actor_role="privacy_officer",
            now=self.running.clock.now(),
        )
        answer = await self.http.post_token(assertion)
        assert answer.status == 200, answer.text
        return str(answer.body["access_token"])

    async def get(self, officer: str, path: str, **params: str) -> Answer:
        """GET `path` with `officer`'s token."""
        return await self.http.call(
            "GET", path, token=await self.token(officer), params=params or None
        )


@pytest.fixture(name="town")
async def scoped_town_fixture(
    tmp_path: Path, clock: FixedClock, storage_url: str | None
) -> AsyncIterator[ScopedTown]:
    """The demo town plus the school's and the provider's officers, on either back end."""
    config = copy_config(tmp_path / "config")
    keys = add_officers(config, clock)
    gw = build_gateway(config, tmp_path / "data", storage_url, clock=clock)
    server = TestServer(create_app(gw, background=False), host="127.0.0.1")
    await server.start_server()
    running = Running(gw, server, clock)
    try:
        async with aiohttp.ClientSession() as session:
            yield ScopedTown(running, Http(running, session), keys)
    finally:
        await server.close()


@pytest.fixture(name="running")
def scoped_running_fixture(town: ScopedTown) -> Running:
    """The town's gateway in place of the shipped one, so `clients` talk to it."""
    return town.running


@dataclass(frozen=True)
class ScopeStory:
    """Log indices of the story's entries, by who was involved."""

    provider_to_team: tuple[int, ...]  # zorg-noord -> swt-denhelder, nothing of the school
    school_disclosed: int  # school-de-es -> veiligthuis-nhn, about the child
    school_refused_as_sender: int
    school_refused_as_recipient: int  # swt-denhelder -> school-de-es, refused
    school_glass: str  # exchange id of the school's break-glass use
    school_glass_index: int
    provider_glass: str
    provider_glass_index: int
    clientless_token_refusal: int


async def _refused(call: Any) -> None:
    with pytest.raises(GatewayClientError):
        await call


async def tell_scope_story(town: ScopedTown, clients: MakeClient) -> ScopeStory:
    running = town.running
    provider, team, school = (
        clients("zorg-noord"),
        clients("swt-denhelder"),
        clients("school-de-es"),
    )
    # The provider's relation to the child (issue 19), without entries the pages would count.
    await seed_referral(running, "zorg-noord", BSN_CHILD)
    feedback = await provider.send(
        "evaluation-feedback", "swt-denhelder", BSN_CHILD, example("evaluation-feedback")
    )
    started = await provider.send("start-stop", "swt-denhelder", BSN_CHILD, example("start-stop"))
    # The school's report to Veilig Thuis: statutory, no agreement (a safety report to the team
    # needs the family's agreement since issue 19); not acute, so nothing waits on a receipt.
    reported = await school.send(
        "safety-report-vt",
        "veiligthuis-nhn",
        BSN_CHILD,
        {**example("safety-report-vt"), "acute_danger": False},
    )
    await _refused(
        school.send(
            "evaluation-feedback", "swt-denhelder", BSN_CHILD, example("evaluation-feedback")
        )
    )
    await _refused(
        team.send("information-request", "school-de-es", BSN_OTHER, example("information-request"))
    )
    reasons = ("Bescherming van het kind.", "De ouders zijn niet bereikbaar.")
    school_glass = await school.send(
        "safety-report",
        "swt-denhelder",
        BSN_OTHER,
        example("safety-report"),
        break_glass=break_glass("Kind vertelt op school over geweld thuis.", *reasons),
    )
    provider_glass = await provider.send(
        "safety-report",
        "swt-denhelder",
        BSN_CHILD,
        example("safety-report"),
        break_glass=break_glass("Moeder belt in paniek naar de hulpverlener.", *reasons),
    )
    answer = await town.http.call(
        "POST",
        "/v1/token",
        form={
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": "not.a.jwt",
        },
    )
    assert answer.status in (400, 401), answer.text
    await running.gw.sequencer().integrate()
    rows = await running.gw.storage.log_rows(0, await running.gw.storage.log_size())

    def first(decision: str, sender: str | None, recipient: str | None) -> int:
        return next(
            row.index
            for row in rows
            if row.entry.decision == decision
            and (None if row.entry.sender is None else row.entry.sender.partner) == sender
            and row.entry.recipient == recipient
        )

    return ScopeStory(
        provider_to_team=(
            feedback["disclosures"][0]["log_index"],
            started["disclosures"][0]["log_index"],
        ),
        school_disclosed=reported["disclosures"][0]["log_index"],
        school_refused_as_sender=first("refused", "school-de-es", "swt-denhelder"),
        school_refused_as_recipient=first("refused", "swt-denhelder", "school-de-es"),
        school_glass=school_glass["exchange_id"],
        school_glass_index=school_glass["disclosures"][0]["log_index"],
        provider_glass=provider_glass["exchange_id"],
        provider_glass_index=provider_glass["disclosures"][0]["log_index"],
        clientless_token_refusal=first("token_refused", None, None),
    )
