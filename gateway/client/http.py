"""`PartnerClient`: a partner system's one-call way to talk to the gateway over HTTP.

It signs client assertions with the partner's private JWKS, keeps a token and refreshes it,
checks and sends exchanges, records consent, pulls the inbox (unsealing HPKE messages with
the partner's X25519 key) and acknowledges. Every refusal becomes a `GatewayClientError`
carrying the contract's code and how_to_fix.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from gateway.client.assertion import make_client_assertion
from gateway.clock import SystemClock
from gateway.delivery.sealed import open_sealed

__all__ = ["GatewayClientError", "PartnerClient"]


class GatewayClientError(Exception):
    """A refusal from the gateway, with the contract's code, status and how to fix it."""

    def __init__(self, status: int, body: Mapping[str, Any]) -> None:
        error = body.get("error")
        if isinstance(error, dict):
            self.code = str(error.get("code"))
            self.message = str(error.get("message"))
            self.how_to_fix = str(error.get("how_to_fix", ""))
            self.details: Mapping[str, Any] = error
        else:  # RFC 6749 shape of /v1/token
            self.code = str(error)
            self.message = str(body.get("error_description", ""))
            self.how_to_fix = "Check the partner id, key and clock of the client assertion."
            self.details = body
        self.status = status
        super().__init__(f"{status} {self.code}: {self.message}")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class PartnerClient:
    """One partner's professional (actor) talking to one gateway."""

    def __init__(
        self,
        base_url: str,
        *,
        partner_id: str,
        private_jwks: Mapping[str, Any],
        actor_id: str,
        actor_role: str,
        audience: str | None = None,
        session: aiohttp.ClientSession | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        # The time assertions are signed at; tests pass the gateway's own movable clock.
        self._clock = clock or SystemClock().now
        self.partner_id = partner_id
        self.actor_id = actor_id
        self.actor_role = actor_role
        self.audience = audience or self.base_url + "/v1/token"
        keys = private_jwks.get("keys", [])
        self._signing = next(k for k in keys if k.get("use", "sig") == "sig")
        enc = next((k for k in keys if k.get("use") == "enc"), None)
        self._decrypt = (
            None if enc is None else X25519PrivateKey.from_private_bytes(_b64url_decode(enc["d"]))
        )
        self._session = session
        self._own_session = session is None
        self._token: str | None = None
        self._token_expires = datetime.min.replace(tzinfo=UTC)

    async def __aenter__(self) -> PartnerClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    # -- tokens ----------------------------------------------------------------------------------
    async def token(self, *, force: bool = False) -> str:
        """A valid access token, fetched anew when missing or about to expire."""
        now = self._clock()
        if (
            self._token is not None
            and not force
            and now < self._token_expires - timedelta(seconds=30)
        ):
            return self._token
        assertion = make_client_assertion(
            self._signing,
            partner_id=self.partner_id,
            audience=self.audience,
            actor_id=self.actor_id,
            actor_role=self.actor_role,
            now=now,
        )
        async with self.session.post(
            self.base_url + "/v1/token",
            data={
                "grant_type": "client_credentials",
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": assertion,
            },
        ) as response:
            body = await response.json()
            if response.status != 200:
                raise GatewayClientError(response.status, body)
        self._token = str(body["access_token"])
        self._token_expires = now + timedelta(seconds=int(body["expires_in"]))
        return self._token

    async def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, str] | None = None,
    ) -> Any:
        """Call the API with a fresh token; raise GatewayClientError on any refusal."""
        headers = {"Authorization": f"Bearer {await self.token()}"}
        async with self.session.request(
            method, self.base_url + path, json=json_body, params=params, headers=headers
        ) as response:
            if response.status == 204:
                return None
            body = await response.json(content_type=None)
            if response.status >= 400:
                raise GatewayClientError(response.status, body)
            return body

    # -- exchanges -------------------------------------------------------------------------------
    async def send(
        self,
        purpose: str,
        to: str | list[str] | Mapping[str, str],
        bsn: str,
        payload: Mapping[str, Any],
        **extra: Any,
    ) -> Any:
        body = {"purpose": purpose, "to": to, "subject": {"bsn": bsn}, "payload": payload, **extra}
        return await self.request("POST", "/v1/exchanges", json_body=body)

    async def check(
        self,
        purpose: str,
        to: str | list[str] | Mapping[str, str],
        bsn: str,
        payload: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> Any:
        body: dict[str, Any] = {"purpose": purpose, "to": to, "subject": {"bsn": bsn}, **extra}
        if payload is not None:
            body["payload"] = payload
        return await self.request("POST", "/v1/exchanges/check", json_body=body)

    # -- cases -----------------------------------------------------------------------------------
    async def open_case(self, *, dossier_reference: str | None = None) -> Any:
        """Open a case (a social team); the answer's `case_id` is the gateway's own id for it."""
        body = {} if dossier_reference is None else {"dossier_reference": dossier_reference}
        return await self.request("POST", "/v1/cases", json_body=body)

    async def register_member(self, case_id: str, partner_id: str, **body: Any) -> Any:
        """Register a partner in a case network (`role`, `contact`, `reported_via`, `measure`)."""
        return await self.request(
            "PUT", f"/v1/cases/{case_id}/network/{partner_id}", json_body=body
        )

    async def remove_member(self, case_id: str, partner_id: str) -> Any:
        return await self.request("DELETE", f"/v1/cases/{case_id}/network/{partner_id}")

    async def case_network(self, case_id: str) -> Any:
        """The members of a case network this partner may see."""
        return await self.request("GET", f"/v1/cases/{case_id}/network")

    # -- consent ---------------------------------------------------------------------------------
    async def record_consent(self, body: Mapping[str, Any]) -> Any:
        return await self.request("POST", "/v1/consents", json_body=body)

    async def withdraw_consent(self, consent_id: str) -> Any:
        return await self.request("POST", f"/v1/consents/{consent_id}/withdraw")

    # -- inbox -----------------------------------------------------------------------------------
    async def inbox(self, *, limit: int = 50, after: str | None = None) -> Any:
        """One inbox page; sealed messages come back opened (subject and payload filled in)."""
        params = {"limit": str(limit)}
        if after is not None:
            params["after"] = after
        page = await self.request("GET", "/v1/inbox", params=params)
        page["messages"] = [self.unseal(m) for m in page["messages"]]
        if "urgent" in page:  # the first page lists urgent messages on top as well
            page["urgent"] = [self.unseal(m) for m in page["urgent"]]
        return page

    def unseal(self, message: dict[str, Any]) -> dict[str, Any]:
        """Open a sealed message with this partner's X25519 key."""
        sealed = message.get("sealed")
        if sealed is None:
            return message
        if self._decrypt is None:
            raise ValueError("message is sealed but this client has no encryption key")
        plaintext = open_sealed(_b64url_decode(sealed["ciphertext"]), self._decrypt, message["id"])
        opened = json.loads(plaintext)
        return {**message, **opened}

    async def ack(self, message_id: str) -> None:
        await self.request("POST", f"/v1/inbox/{message_id}/ack")
