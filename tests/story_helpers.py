"""The family of the story tests, its town of partners, and partner systems on the gateway's clock.

The family has three children; the eldest (13) is the one referred, so the age rules ask for
the child's own consent beside a custodian's. The town is the demo configuration, and for the
case-network fan-out also a wider one with a second care provider (`zorg-zuid`), so that a case
network can hold four partners besides the social team that sends to it.

Story tests move the gateway's FixedClock by days; a partner system signing its client
assertions with the wall clock would then be refused, so `StoryClient` signs at the gateway's
clock instead.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestServer

from gateway.client.http import PartnerClient
from gateway.client.keygen import generate_partner_jwks
from gateway.clock import FixedClock
from gateway.log.entry import LogEntry
from gateway.runtime import DEFAULT_CONFIG, build_gateway
from gateway.web import create_app
from tests.conftest import ROLES, Running, example, private_jwks

__all__ = [
    "CHILDREN",
    "CUSTODIAN",
    "ELDEST",
    "EVALUATION_DATE",
    "EXTRA_PROVIDER",
    "STORY_DAY",
    "Child",
    "StoryClient",
    "Town",
    "entries_since",
    "family_consent",
    "list_expectations",
    "post_with_status",
    "refer_family",
    "referral_payload",
    "serve_wider_town",
]

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
STORY_DAY = datetime.fromisoformat("2026-11-25T10:00:00+00:00")
DOSSIER = "WT-2026/0117"
EVALUATION_DATE = "2027-02-15"
CUSTODIAN = {"role": "custodian", "name": "Marieke Jansen"}
EXTRA_PROVIDER = "zorg-zuid"
_EXTRA_ROLES = {EXTRA_PROVIDER: "casusregisseur"}


@dataclass(frozen=True, slots=True)
class Child:
    """One child of the household: a fictitious BSN, a birth date and the case's reference."""

    bsn: str
    birth_date: str
    child_ref: str


# Fictitious BSNs in the 9999 test range that pass the elfproef.
CHILDREN = (
    Child("999900171", "2013-06-02", "kind-1"),
    Child("999900328", "2017-01-20", "kind-2"),
    Child("999900481", "2020-09-11", "kind-3"),
)
ELDEST = CHILDREN[0]


class StoryClient(PartnerClient):
    """A partner system that signs its client assertions at the gateway's (movable) clock."""

    def __init__(
        self,
        running: Running,
        partner_id: str,
        jwks: Mapping[str, Any],
        role: str,
    ) -> None:
        super().__init__(
            running.url,
            partner_id=partner_id,
            private_jwks=jwks,
            actor_id=f"{partner_id}-actor-1",
            actor_role=role,
            audience=running.gw.settings.id,
            clock=running.clock.now,
        )


class Town:
    """The partners of one running gateway, as StoryClients; closes them all at the end."""

    def __init__(
        self, running: Running, extra_jwks: Mapping[str, Mapping[str, Any]] | None = None
    ) -> None:
        self.running = running
        self._extra = dict(extra_jwks or {})
        self._made: list[StoryClient] = []
        self.case = ""  # the family's case, once open_case has run

    async def open_case(self) -> str:
        """The team opens a case for the family; the gateway chooses its id."""
        opened = await self("swt-denhelder").open_case(dossier_reference=DOSSIER)
        self.case = str(opened["case_id"])
        return self.case

    def __call__(self, partner_id: str, role: str | None = None) -> StoryClient:
        jwks = self._extra.get(partner_id) or private_jwks(partner_id)
        role = role or ROLES.get(partner_id) or _EXTRA_ROLES[partner_id]
        client = StoryClient(self.running, partner_id, jwks, role)
        self._made.append(client)
        return client

    def move_clock(self, days: float) -> None:
        """Let days pass on the gateway's injected clock (no sleeping)."""
        self.running.clock.moment += timedelta(days=days)

    async def close(self) -> None:
        for client in self._made:
            await client.close()


@asynccontextmanager
async def serve_wider_town(root: Path, clock: FixedClock) -> AsyncIterator[Town]:
    """A gateway on the demo configuration plus a second care provider with a fresh key pair."""
    config = root / "config"
    config.mkdir(parents=True)
    for name in ("gateway.toml", "purposes.toml", "holidays.toml", "partners.toml"):
        shutil.copy(DEFAULT_CONFIG / name, config / name)
    shutil.copytree(DEFAULT_CONFIG / "keys", config / "keys")
    # gateway.toml finds the schemas at ../schemas, as in the repository.
    (root / "schemas").symlink_to(DEFAULT_CONFIG.parent / "schemas", target_is_directory=True)
    private, public = generate_partner_jwks(EXTRA_PROVIDER, now=clock.now())
    (config / "keys" / f"{EXTRA_PROVIDER}.jwks.json").write_text(json.dumps(public))
    with (config / "partners.toml").open("a") as partners:
        partners.write(
            "\n[[partner]]\n"
            f'id = "{EXTRA_PROVIDER}"\n'
            'name = "Zorgaanbieder Zuid"\n'
            'kind = "care_provider"\n'
            f'jwks = "keys/{EXTRA_PROVIDER}.jwks.json"\n'
        )
    gw = build_gateway(config, root / "data", clock=clock)
    server = TestServer(create_app(gw, background=False), host="127.0.0.1")
    await server.start_server()
    town = Town(Running(gw, server, clock), {EXTRA_PROVIDER: private})
    try:
        await town.open_case()
        yield town
    finally:
        await town.close()
        await server.close()


def family_consent(
    purposes: list[str], senders: list[str], recipients: list[str], child: Child = ELDEST
) -> dict[str, Any]:
    """A consent body for a 12-15-year-old: the child and a custodian both consent."""
    return {
        "subject": {"bsn": child.bsn, "birth_date": child.birth_date},
        "given_by": [{"role": "subject"}, CUSTODIAN],
        "purposes": purposes,
        "from": senders,
        "to": recipients,
        "evidence": {"method": "written", "reference": "keukentafelgesprek-2026-11-25"},
    }


def referral_payload() -> dict[str, Any]:
    payload = example("referral")
    payload["evaluation_date"] = EVALUATION_DATE
    return payload


async def refer_family(town: Town, case_id: str | None = None) -> dict[str, Any]:
    """The team registers the provider and the household, records the family's consent and
    refers to zorg-noord (a member of the case, so its replies may name the case)."""
    case_id = case_id or town.case
    team = town("swt-denhelder")
    await team.register_member(case_id, "zorg-noord", role="involved")
    await team.request(
        "PUT",
        f"/v1/cases/{case_id}/household",
        json_body={"children": [{"bsn": c.bsn, "child_ref": c.child_ref} for c in CHILDREN]},
    )
    await team.record_consent(family_consent(["referral"], ["swt-denhelder"], ["zorg-noord"]))
    answer: dict[str, Any] = await team.send(
        "referral", "zorg-noord", ELDEST.bsn, referral_payload(), case_id=case_id
    )
    return answer


async def post_with_status(client: PartnerClient, path: str, body: Any) -> tuple[int, Any]:
    """POST as the partner and return the HTTP status beside the body (the client hides it)."""
    headers = {"Authorization": f"Bearer {await client.token()}"}
    async with client.session.post(client.base_url + path, json=body, headers=headers) as answer:
        return answer.status, await answer.json()


async def list_expectations(
    client: PartnerClient, status: str, case_id: str | None = None
) -> list[dict[str, Any]]:
    """The caller's expectations in one status (open, overdue, closed or all), of one case."""
    params = {"status": status, **({"case_id": case_id} if case_id else {})}
    body = await client.request("GET", "/v1/expectations", params=params)
    items: list[dict[str, Any]] = body["expectations"]
    return items


async def entries_since(running: Running, start: int) -> dict[int, LogEntry]:
    """The disclosure log's entries from index `start` to its end, by log index."""
    size = await running.gw.storage.log_size()
    return {row.index: row.entry for row in await running.gw.storage.log_rows(start, size)}
