"""The served checkpoint, checked the way an outside auditor would: with their own code.

The verifier below follows C2SP signed-note and tlog-checkpoint from their text and uses only
`cryptography` for Ed25519; the verifier key comes from `gateway log verifier-key` run as a
separate process, and the root is recomputed (RFC 9162) from every leaf the API serves.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from gateway.client.http import PartnerClient
from tests.conftest import BSN_CHILD, BSN_OTHER, REPO, Running, example
from tests.helpers import seed_referral

# The installed console script, as operators run it.
GATEWAY = str(Path(sys.executable).with_name("gateway"))
SIGNED_NOTE_VECTORS = REPO.parent / "shared" / "vectors" / "signed-note" / "notes.json"
OFFICER = "fg-denhelder"
MakeClient = Callable[..., PartnerClient]


# --- an independent signed-note and checkpoint verifier ----------------------------------------


class CheckpointRejected(Exception):
    """The note is malformed, unsigned by the trusted key, or its signature fails."""


@dataclass(frozen=True)
class TrustedKey:
    """A verifier key `name+hex(keyid)+base64(0x01 || Ed25519 public key)`."""

    name: str
    key_id: bytes
    public_key: bytes


def key_id(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode("utf-8") + b"\n" + b"\x01" + public_key).digest()[:4]


def read_verifier_key(text: str) -> TrustedKey:
    name, hex_id, encoded = text.split("+", 2)
    raw = base64.b64decode(encoded, validate=True)
    if len(raw) != 33 or raw[0] != 0x01:
        raise CheckpointRejected("not an Ed25519 verifier key")
    if bytes.fromhex(hex_id) != key_id(name, raw[1:]):
        raise CheckpointRejected("the verifier key's id does not match its key")
    return TrustedKey(name, bytes.fromhex(hex_id), raw[1:])


def verify_signed_note(note: str, trusted: TrustedKey) -> str:
    """The note's text once the trusted key's Ed25519 signature over it verifies."""
    body, separator, signatures = note.rpartition("\n\n")
    if not separator or not note.endswith("\n"):
        raise CheckpointRejected("a note is text, a blank line and signature lines")
    text = body + "\n"
    for line in signatures[:-1].split("\n"):
        match = re.fullmatch(r"\u2014 (\S+) ([A-Za-z0-9+/=]+)", line)
        if match is None:
            raise CheckpointRejected(f"not a signature line: {line!r}")
        blob = base64.b64decode(match.group(2), validate=True)
        if match.group(1) != trusted.name or blob[:4] != trusted.key_id:
            continue
        try:
            Ed25519PublicKey.from_public_bytes(trusted.public_key).verify(
                blob[4:], text.encode("utf-8")
            )
        except InvalidSignature:
            raise CheckpointRejected("the signature does not verify") from None
        return text
    raise CheckpointRejected("no signature by the trusted key")


@dataclass(frozen=True)
class TreeHead:
    origin: str
    size: int
    root: bytes


def read_checkpoint(text: str) -> TreeHead:
    """tlog-checkpoint body: origin, decimal size, base64 root hash, optional extension lines."""
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise CheckpointRejected("a checkpoint has an origin, a size and a root line")
    origin, size, root = lines[:3]
    if not re.fullmatch(r"0|[1-9][0-9]*", size):
        raise CheckpointRejected("the size is a decimal without leading zeroes")
    root_hash = base64.b64decode(root, validate=True)
    if len(root_hash) != 32:
        raise CheckpointRejected("the root hash has 32 bytes")
    return TreeHead(origin, int(size), root_hash)


def rfc9162_root(leaves: Sequence[bytes]) -> bytes:
    """MTH from the definition, over the leaves' own bytes."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + rfc9162_root(leaves[:k]) + rfc9162_root(leaves[k:])).digest()


def test_the_independent_note_verifier_agrees_with_the_published_signed_note_vectors() -> None:
    if not SIGNED_NOTE_VECTORS.is_file():
        pytest.fail(f"the shared signed-note vectors are missing at {SIGNED_NOTE_VECTORS}")
    for case in json.loads(SIGNED_NOTE_VECTORS.read_text()):
        if case["want_err"]:
            with pytest.raises(CheckpointRejected):
                verify_signed_note(case["note"], read_verifier_key(case["verifier_key"]))
        else:
            verify_signed_note(case["note"], read_verifier_key(case["verifier_key"]))


# --- helpers ------------------------------------------------------------------------------------


async def printed_verifier_key(data: Path) -> str:
    """What `gateway log verifier-key --data DIR` prints, run as its own process."""
    process = await asyncio.create_subprocess_exec(
        GATEWAY,
        "log",
        "verifier-key",
        "--data",
        str(data),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, err.decode()
    lines = out.decode().splitlines()
    assert len(lines) == 1
    return lines[0]


async def served_checkpoint(officer: PartnerClient) -> str:
    token = await officer.token()
    async with officer.session.get(
        officer.base_url + "/v1/audit/checkpoint", headers={"Authorization": f"Bearer {token}"}
    ) as response:
        assert response.status == 200
        assert response.content_type == "text/plain"
        return await response.text()


async def served_leaves(officer: PartnerClient, size: int) -> list[bytes]:
    token = await officer.token()
    leaves = []
    for index in range(size):
        async with officer.session.get(
            f"{officer.base_url}/v1/audit/entries/{index}/leaf",
            headers={"Authorization": f"Bearer {token}"},
        ) as response:
            assert response.status == 200
            leaves.append(await response.read())
    return leaves


async def exchange_a_few(running: Running, clients: MakeClient, count: int) -> None:
    # The provider's relation to the children (issue 19), without entries the log would count.
    await seed_referral(running, "zorg-noord", BSN_CHILD, BSN_OTHER)
    provider = clients("zorg-noord")
    for n in range(count):
        bsn = BSN_CHILD if n % 2 else BSN_OTHER
        await provider.send(
            "evaluation-feedback", "swt-denhelder", bsn, example("evaluation-feedback")
        )


# --- the served checkpoint ----------------------------------------------------------------------


async def test_every_served_checkpoint_verifies_with_the_printed_key_and_commits_to_every_leaf(
    running: Running, clients: MakeClient
) -> None:
    officer = clients(OFFICER)
    trusted = read_verifier_key(await printed_verifier_key(running.gw.data.path))
    assert trusted.name == running.gw.settings.log_origin

    # Before anything happened: the empty log, signed with the hash of the empty string.
    await running.gw.sequencer().integrate()
    empty = read_checkpoint(verify_signed_note(await served_checkpoint(officer), trusted))
    assert empty.size == 0
    assert empty.root == hashlib.sha256(b"").digest()

    await exchange_a_few(running, clients, 11)
    await running.gw.sequencer().integrate()
    head = read_checkpoint(verify_signed_note(await served_checkpoint(officer), trusted))
    assert head.origin == running.gw.settings.log_origin
    assert head.size == 11
    assert head.root == rfc9162_root(await served_leaves(officer, head.size))

    # The log grows: the next checkpoint covers the new entries and still verifies.
    await exchange_a_few(running, clients, 6)
    await running.gw.sequencer().integrate()
    later = read_checkpoint(verify_signed_note(await served_checkpoint(officer), trusted))
    assert later.size == 17
    leaves = await served_leaves(officer, later.size)
    assert later.root == rfc9162_root(leaves)
    assert rfc9162_root(leaves[: head.size]) == head.root


async def test_an_altered_checkpoint_or_a_stranger_key_fails_the_independent_verifier(
    running: Running, clients: MakeClient
) -> None:
    await exchange_a_few(running, clients, 3)
    await running.gw.sequencer().integrate()
    officer = clients(OFFICER)
    name = running.gw.settings.log_origin
    own = running.gw.log_signer.private_key.public_key().public_bytes(
        Encoding.Raw, PublicFormat.Raw
    )
    trusted = TrustedKey(name, key_id(name, own), own)
    note = await served_checkpoint(officer)
    verify_signed_note(note, trusted)

    origin, size, rest = note.split("\n", 2)
    with pytest.raises(CheckpointRejected):
        verify_signed_note(f"{origin}\n{int(size) + 1}\n{rest}", trusted)
    stranger = (
        Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    )
    impostor = TrustedKey(trusted.name, key_id(trusted.name, stranger), stranger)
    with pytest.raises(CheckpointRejected):
        verify_signed_note(note, impostor)
    same_id_other_key = TrustedKey(trusted.name, trusted.key_id, stranger)
    with pytest.raises(CheckpointRejected):
        verify_signed_note(note, same_id_other_key)
