"""Shared pieces of the HTTP integration tests: raw calls, clock-bound tokens, state snapshots.

The `clients` fixture signs client assertions with the wall clock, so it only works while the
gateway's FixedClock stays near real time. Tests that move the clock use `ClockedClient` and
`Http.token`, which sign at the gateway's own clock instead.
"""

from __future__ import annotations

import io
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aiohttp

from gateway.client.assertion import make_client_assertion
from gateway.client.http import PartnerClient
from gateway.container import Gateway
from gateway.log.entry import LogEntry
from gateway.store.base import Expectation
from gateway.store.links import find_pseudonym, pseudonym_for
from gateway.subject import Subject
from tests.conftest import ROLES, Running, private_jwks

__all__ = [
    "JWT_BEARER",
    "Answer",
    "ClockedClient",
    "ClockedClients",
    "GatewayState",
    "Http",
    "assert_contract_error",
    "break_glass",
    "gateway_state",
    "log_entries",
    "relate",
    "relate_client",
    "seed_referral",
    "seed_request",
    "signing_jwk",
    "valid_bsn",
]

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_NO_BODY = object()


def break_glass(justification: str, interest: str, why_no_consent: str) -> dict[str, Any]:
    """A complete break-glass object: a justification and the meldcode's five answers."""
    return {
        "justification": justification,
        "meldcode": {
            "interest_served": interest,
            "no_other_way": True,
            "consent_not_possible": why_no_consent,
            "proportionate": True,
            "minimal_information": True,
        },
    }


def signing_jwk(partner_id: str) -> dict[str, Any]:
    """The demo partner's private signing JWK (from config/demo)."""
    return next(k for k in private_jwks(partner_id)["keys"] if k.get("use", "sig") == "sig")


def valid_bsn(seed: int) -> str:
    """A fictitious nine-digit number in the 9999 test range that passes the elfproef."""
    base = 99_990_000 + 16 * seed
    while True:
        digits = f"{base:08d}"
        check = sum(int(d) * w for d, w in zip(digits, range(9, 1, -1), strict=True)) % 11
        if check < 10:
            return digits + str(check)
        base += 1


@dataclass(frozen=True, slots=True)
class Answer:
    """One HTTP answer as a partner's system receives it."""

    status: int
    headers: Mapping[str, str]
    text: str

    @property
    def body(self) -> Any:
        return json.loads(self.text) if self.text else None


class Http:
    """Raw HTTP to the running gateway, with tokens signed at the gateway's clock."""

    def __init__(self, running: Running, session: aiohttp.ClientSession) -> None:
        self.running = running
        self.session = session

    async def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json_body: Any = _NO_BODY,
        data: bytes | None = None,
        form: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> Answer:
        sent = dict(headers or {})
        # The gateway answers in Dutch by default; these tests read its English texts unless a
        # test names a language itself (test_i18n_http.py).
        if not any(name.lower() == "accept-language" for name in sent):
            sent["Accept-Language"] = "en"
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        extra: dict[str, Any] = {}
        if json_body is not _NO_BODY:
            extra["json"] = json_body
        if data is not None:
            # A stream, so aiohttp sends even a large body without blocking the loop.
            extra["data"] = io.BytesIO(data)
        if form is not None:
            extra["data"] = dict(form)
        async with self.session.request(
            method, self.running.url + path, headers=sent, params=params, **extra
        ) as response:
            return Answer(response.status, response.headers, await response.text())

    def assertion(self, partner_id: str, role: str | None = None, *, actor: str = "actor-1") -> str:
        """A valid client assertion for a demo partner, issued at the gateway's clock."""
        return make_client_assertion(
            signing_jwk(partner_id),
            partner_id=partner_id,
            audience=self.running.gw.settings.id,
            actor_id=f"{partner_id}-{actor}",
            actor_role=role or ROLES[partner_id],
            now=self.running.clock.now(),
        )

    async def post_token(
        self,
        assertion: str,
        *,
        grant_type: str = "client_credentials",
        assertion_type: str = JWT_BEARER,
    ) -> Answer:
        return await self.call(
            "POST",
            "/v1/token",
            form={
                "grant_type": grant_type,
                "client_assertion_type": assertion_type,
                "client_assertion": assertion,
            },
        )

    async def token(self, partner_id: str, role: str | None = None) -> str:
        """An access token for a demo partner (and actor role), or fail the test."""
        answer = await self.post_token(self.assertion(partner_id, role))
        assert answer.status == 200, answer.text
        return str(answer.body["access_token"])


class ClockedClient(PartnerClient):
    """A PartnerClient that signs its assertions at the gateway's clock, so tests may move it."""

    def __init__(
        self, running: Running, partner_id: str, role: str | None = None, actor: str = "actor-1"
    ) -> None:
        super().__init__(
            running.url,
            partner_id=partner_id,
            private_jwks=private_jwks(partner_id),
            actor_id=f"{partner_id}-{actor}",
            actor_role=role or ROLES[partner_id],
            audience=running.gw.settings.id,
            clock=running.clock.now,
            # Tests read the gateway's English texts; Dutch is tested in test_i18n_http.py.
            language="en",
        )


class ClockedClients:
    """Makes ClockedClients for one running gateway and closes them all at the end."""

    def __init__(self, running: Running) -> None:
        self.running = running
        self._made: list[ClockedClient] = []

    def __call__(
        self, partner_id: str, role: str | None = None, actor: str = "actor-1"
    ) -> ClockedClient:
        client = ClockedClient(self.running, partner_id, role, actor)
        self._made.append(client)
        return client

    async def close(self) -> None:
        for client in self._made:
            await client.close()


async def log_entries(running: Running, start: int = 0) -> list[LogEntry]:
    """The disclosure log's entries from `start` to its current end."""
    size = await running.gw.storage.log_size()
    return [row.entry for row in await running.gw.storage.log_rows(start, size)]


@dataclass(frozen=True, slots=True)
class GatewayState:
    """What a refusal must leave alone: the log's size and every partner's inbox."""

    log_size: int
    inboxes: Mapping[str, tuple[str, ...]]


async def gateway_state(running: Running) -> GatewayState:
    inboxes = {
        partner.id: tuple(
            m.message_id
            for m in await running.gw.storage.inbox_page(partner.id, after=0, limit=10_000)
        )
        for partner in running.gw.partners
    }
    return GatewayState(await running.gw.storage.log_size(), inboxes)


def assert_contract_error(answer: Answer, status: int, code: str) -> dict[str, Any]:
    """Check the contract's error shape and code; return the error object for more checks."""
    assert answer.status == status, answer.text
    assert answer.headers["Content-Type"].startswith("application/json")
    body = answer.body
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert error["code"] == code, error
    assert isinstance(error["message"], str)
    assert error["message"]
    assert isinstance(error["how_to_fix"], str)
    assert error["how_to_fix"]
    return error


async def linked_pseudonym(running: Running, subject: str | Subject) -> str | None:
    """The pseudonym the gateway's records carry for a person (a BSN, or a Subject) through
    its link; None when nothing is linked."""
    named = Subject("bsn", subject) if isinstance(subject, str) else subject
    return await find_pseudonym(running.gw.storage, running.gw.pseudonymiser, named)


def _children(people: tuple[str | Mapping[str, Any], ...]) -> list[dict[str, Any]]:
    """Household children: a BSN, or a subject object such as `{"identifier": {...}}`."""
    return [
        {**({"bsn": p} if isinstance(p, str) else dict(p)), "child_ref": f"kind-{n + 1}"}
        for n, p in enumerate(people)
    ]


async def relate(
    http: Http,
    partner: str,
    *people: str | Mapping[str, Any],
    team: str = "swt-denhelder",
    towards: Sequence[str] = (),
) -> str:
    """Give `partner` the relation to each person that start-stop messages, evaluation feedback
    and safety assessments presume (issue 19): a case the social team directs, with the partner
    (and the partners in `towards`, to whom the relation then holds too) in its network and the
    persons in its household. Returns the case id."""
    token = await http.token(team)
    opened = await http.call("POST", "/v1/cases", token=token, json_body={})
    assert opened.status == 201, opened.text
    case_id = str(opened.body["case_id"])
    for member in dict.fromkeys((partner, *towards)):
        if member == team:
            continue
        joined = await http.call(
            "PUT", f"/v1/cases/{case_id}/network/{member}", token=token, json_body={}
        )
        assert joined.status == 201, joined.text
    registered = await http.call(
        "PUT",
        f"/v1/cases/{case_id}/household",
        token=token,
        json_body={"children": _children(people)},
    )
    assert registered.status == 200, registered.text
    return case_id


async def relate_client(team: PartnerClient, partner: str, *people: str | Mapping[str, Any]) -> str:
    """`relate` through a social team's PartnerClient; returns the case id."""
    opened = await team.open_case()
    case_id = str(opened["case_id"])
    if partner != team.partner_id:
        await team.register_member(case_id, partner)
    await team.request(
        "PUT", f"/v1/cases/{case_id}/household", json_body={"children": _children(people)}
    )
    return case_id


async def seed_referral(
    running: Running | Gateway,
    partner: str,
    *people: str | Mapping[str, Any],
    towards: str = "swt-denhelder",
) -> None:
    """Give `partner` the relation to each person its reports presume (issue 19) as a referral
    would (a BSN, or a subject object such as `{"identifier": {...}}`): an expectation such a
    referral opens, owed by the partner about the person to `towards` (the partner the relation
    is towards: the reports may go to it only), and already answered, so nothing is due or
    overdue.

    Written through the storage interface, without the referral's own log entry, message or
    consent: for tests about other things (the outbox, the log's columns, tampering, crashes)
    that count what the log, the outbox or an inbox holds. Tests about exchanges use `relate`.
    """
    gw = running.gw if isinstance(running, Running) else running
    now = gw.now()
    subjects = [
        await pseudonym_for(
            gw.storage,
            gw.pseudonymiser,
            Subject.from_json({"bsn": person} if isinstance(person, str) else person),
            now,
        )
        for person in people
    ]
    await gw.storage.add_expectations(
        [
            Expectation(
                expectation_id=f"exp_seeded_{secrets.token_hex(8)}",
                purpose="start-stop",
                origin_purpose="referral",
                origin_exchange_id=None,
                case_id=None,
                owed_by=partner,
                owed_to=towards,
                subject=subject,
                child_ref=None,
                opened_at=now,
                due_at=now,
                closed_at=now,
                closed_by="seeded",
            )
            for subject in subjects
        ]
    )


async def seed_request(running: Running, asker: str, asked: str, bsn: str) -> str:
    """An open information request of `asker` to `asked` about the person, as sending one opens
    it (no topics bound); returns the id a reply names in `in_reply_to`.

    Written through the storage interface, without the request's log entry, message or the
    consent it needs: for tests of what a reply's check tells a replier that is party to no
    consent of the person (a check, like a send, first asks for the open request it answers).
    """
    now = running.clock.now()
    origin = f"ex_seeded_{secrets.token_hex(8)}"
    subject = await pseudonym_for(
        running.gw.storage, running.gw.pseudonymiser, Subject("bsn", bsn), now
    )
    await running.gw.storage.add_expectations(
        [
            Expectation(
                expectation_id=f"exp_seeded_{secrets.token_hex(8)}",
                purpose="information-reply",
                origin_purpose="information-request",
                origin_exchange_id=origin,
                case_id=None,
                owed_by=asked,
                owed_to=asker,
                subject=subject,
                child_ref=None,
                opened_at=now,
                due_at=now + timedelta(days=10),
            )
        ]
    )
    return origin
