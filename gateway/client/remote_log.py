"""What an auditor does: check that a gateway's log today extends a checkpoint saved earlier."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from gateway.client.http import PartnerClient
from gateway.log.checkpoint import Checkpoint, NoteVerifier, open_checkpoint, parse_checkpoint_body
from gateway.log.merkle import verify_consistency

__all__ = ["RemoteConsistency", "check_remote_consistency"]


@dataclass(frozen=True, slots=True)
class RemoteConsistency:
    """The saved checkpoint and the gateway's current one, proven consistent."""

    saved: Checkpoint
    current: Checkpoint
    current_note: str


async def check_remote_consistency(
    saved_note: str,
    *,
    url: str,
    verifier: NoteVerifier,
    partner_id: str,
    private_jwks: Mapping[str, Any],
    actor_id: str,
    audience: str | None = None,
) -> RemoteConsistency:
    """Verify both checkpoints' signatures and the consistency proof between them.

    Raises NoteError for a bad signature, ProofError when the log was rewritten, and
    GatewayClientError when the gateway refuses.
    """
    origin = parse_checkpoint_body(saved_note.split("\n\n", 1)[0] + "\n").origin
    saved = open_checkpoint(saved_note, [verifier], origin=origin)
    if audience is None:
        # The gateway names itself at /healthz; its id is always an accepted audience.
        async with (
            aiohttp.ClientSession() as session,
            session.get(url.rstrip("/") + "/healthz") as response,
        ):
            audience = str((await response.json())["gateway_id"])
    async with PartnerClient(
        url,
        partner_id=partner_id,
        private_jwks=private_jwks,
        actor_id=actor_id,
        actor_role="privacy_officer",
        audience=audience,
    ) as client:
        token = await client.token()
        headers = {"Authorization": f"Bearer {token}"}
        async with client.session.get(
            url.rstrip("/") + "/v1/audit/checkpoint", headers=headers
        ) as r:
            r.raise_for_status()
            note = await r.text()
        current = open_checkpoint(note, [verifier], origin=origin)
        proof: list[bytes] = []
        if saved.size > 0:
            body = await client.request(
                "GET",
                "/v1/audit/proof/consistency",
                params={"first": str(saved.size), "second": str(current.size)},
            )
            proof = [base64.b64decode(h) for h in body["hashes"]]
    if saved.size == 0:
        return RemoteConsistency(saved, current, note)
    verify_consistency(saved.size, current.size, saved.root_hash, current.root_hash, proof)
    return RemoteConsistency(saved, current, note)
