"""`gateway log verify --checkpoint FILE --url URL ...`: an auditor's check that a live log only grew.

The command runs as its own process against the test gateway on loopback, so it is run with
asyncio's subprocess support: the gateway answers it from this test's event loop meanwhile.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.client.http import PartnerClient
from gateway.log.checkpoint import (
    Checkpoint,
    NoteSigner,
    parse_checkpoint_body,
    sign_note,
    verifier_key,
)
from tests.conftest import BSN_CHILD, DEMO_KEYS, Running, example
from tests.helpers import seed_referral

# The installed console script, as operators run it.
GATEWAY = str(Path(sys.executable).with_name("gateway"))
OFFICER = "fg-denhelder"
MakeClient = Callable[..., PartnerClient]


@dataclass(frozen=True)
class Outcome:
    code: int
    output: str


async def remote_verify(running: Running, saved: Path, *extra: str) -> Outcome:
    """Run the remote check as an auditor would, as the demo privacy officer."""
    signer = running.gw.log_signer
    process = await asyncio.create_subprocess_exec(
        GATEWAY,
        "log",
        "verify",
        "--checkpoint",
        str(saved),
        "--url",
        running.url,
        "--verifier-key",
        verifier_key(signer.name, signer.private_key.public_key()),
        "--partner",
        OFFICER,
        "--jwks",
        str(DEMO_KEYS / f"{OFFICER}.private.jwks.json"),
        *extra,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode is not None
    return Outcome(process.returncode, out.decode())


async def served_checkpoint(officer: PartnerClient) -> str:
    token = await officer.token()
    async with officer.session.get(
        officer.base_url + "/v1/audit/checkpoint", headers={"Authorization": f"Bearer {token}"}
    ) as response:
        assert response.status == 200
        return await response.text()


async def exchange(running: Running, clients: MakeClient, count: int) -> None:
    # The provider's relation to the children (issue 19), without entries the log would count.
    await seed_referral(running, "zorg-noord", BSN_CHILD)
    provider = clients("zorg-noord")
    for _ in range(count):
        await provider.send(
            "evaluation-feedback", "swt-denhelder", BSN_CHILD, example("evaluation-feedback")
        )


async def saved_then_grown(running: Running, clients: MakeClient, tmp_path: Path) -> Path:
    """A checkpoint saved at size 5, and a log that has since grown to 12 and been signed."""
    await exchange(running, clients, 5)
    await running.gw.sequencer().integrate()
    saved = tmp_path / "saved-checkpoint.txt"
    saved.write_text(await served_checkpoint(clients(OFFICER)), encoding="utf-8")
    await exchange(running, clients, 7)
    await running.gw.sequencer().integrate()
    return saved


def forged_note(saved: Path, signer: NoteSigner) -> str:
    """The saved checkpoint's size and origin with another root, signed with `signer`."""
    real = parse_checkpoint_body(saved.read_text(encoding="utf-8").split("\n\n", 1)[0] + "\n")
    other_root = hashlib.sha256(b"a history that never happened").digest()
    assert other_root != real.root_hash
    return sign_note(Checkpoint(real.origin, real.size, other_root).body(), signer)


async def test_a_log_that_only_grew_is_consistent_with_the_saved_checkpoint(
    running: Running, clients: MakeClient, tmp_path: Path
) -> None:
    saved = await saved_then_grown(running, clients, tmp_path)
    outcome = await remote_verify(running, saved)
    assert outcome.code == 0, outcome.output
    assert "consistent" in outcome.output
    assert "size 12" in outcome.output
    assert "size 5" in outcome.output


async def test_update_saves_the_newer_checkpoint_for_the_next_check(
    running: Running, clients: MakeClient, tmp_path: Path
) -> None:
    saved = await saved_then_grown(running, clients, tmp_path)
    outcome = await remote_verify(running, saved, "--update")
    assert outcome.code == 0, outcome.output
    assert saved.read_text(encoding="utf-8") == await served_checkpoint(clients(OFFICER))
    assert saved.read_text(encoding="utf-8").split("\n")[1] == "12"


async def test_a_validly_signed_checkpoint_with_another_root_fails_the_check(
    running: Running, clients: MakeClient, tmp_path: Path
) -> None:
    saved = await saved_then_grown(running, clients, tmp_path)
    # Signed with the log's own key: the signature is fine, the history is not.
    saved.write_text(forged_note(saved, running.gw.log_signer), encoding="utf-8")
    outcome = await remote_verify(running, saved)
    assert outcome.code == 1, outcome.output
    assert "FAILED" in outcome.output
    assert "consistent:" not in outcome.output


async def test_a_checkpoint_signed_by_another_key_fails_the_check(
    running: Running, clients: MakeClient, tmp_path: Path
) -> None:
    saved = await saved_then_grown(running, clients, tmp_path)
    stranger = NoteSigner(running.gw.log_signer.name, Ed25519PrivateKey.generate())
    saved.write_text(forged_note(saved, stranger), encoding="utf-8")
    outcome = await remote_verify(running, saved)
    assert outcome.code == 1, outcome.output
    assert "FAILED" in outcome.output
