"""Sealed delivery opened by an independent RFC 9180 implementation built from primitives.

The opener below uses only X25519, HMAC-SHA256 and AEADs from `cryptography`, not its HPKE
module and not the gateway's code. It is first checked against RFC 9180 Appendix A (the
X25519/HKDF-SHA256 suites with AES-128-GCM and ChaCha20-Poly1305: same KEM and key schedule as
ours), then used to open what the gateway sealed with AES-256-GCM.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.conftest import BSN_CHILD, example, private_jwks
from tests.helpers import seed_referral

VECTORS = Path(__file__).resolve().parents[2] / "shared" / "vectors" / "rfc9180" / "base-mode.json"
KEM_X25519 = 0x0020
KDF_HKDF_SHA256 = 0x0001
AEADS: dict[int, tuple[Any, int]] = {
    0x0001: (AESGCM, 16),
    0x0002: (AESGCM, 32),
    0x0003: (ChaCha20Poly1305, 32),
}


def i2osp(value: int, length: int) -> bytes:
    return value.to_bytes(length, "big")


def hkdf_extract(salt: bytes, ikm: bytes) -> bytes:
    return hmac.new(salt or b"\x00" * 32, ikm, hashlib.sha256).digest()


def hkdf_expand(prk: bytes, info: bytes, length: int) -> bytes:
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def labeled_extract(suite: bytes, salt: bytes, label: bytes, ikm: bytes) -> bytes:
    return hkdf_extract(salt, b"HPKE-v1" + suite + label + ikm)


def labeled_expand(suite: bytes, prk: bytes, label: bytes, info: bytes, length: int) -> bytes:
    return hkdf_expand(prk, i2osp(length, 2) + b"HPKE-v1" + suite + label + info, length)


def raw_public(key: X25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def decap(enc: bytes, sk_r: X25519PrivateKey) -> bytes:
    """RFC 9180 4.1 DHKEM(X25519, HKDF-SHA256) Decap."""
    suite = b"KEM" + i2osp(KEM_X25519, 2)
    dh = sk_r.exchange(X25519PublicKey.from_public_bytes(enc))
    eae_prk = labeled_extract(suite, b"", b"eae_prk", dh)
    return labeled_expand(suite, eae_prk, b"shared_secret", enc + raw_public(sk_r), 32)


def key_schedule(shared_secret: bytes, info: bytes, aead_id: int) -> tuple[bytes, bytes]:
    """RFC 9180 5.1 base mode: the AEAD key and base nonce."""
    suite = b"HPKE" + i2osp(KEM_X25519, 2) + i2osp(KDF_HKDF_SHA256, 2) + i2osp(aead_id, 2)
    psk_id_hash = labeled_extract(suite, b"", b"psk_id_hash", b"")
    info_hash = labeled_extract(suite, b"", b"info_hash", info)
    context = b"\x00" + psk_id_hash + info_hash
    secret = labeled_extract(suite, shared_secret, b"secret", b"")
    nk = AEADS[aead_id][1]
    return (
        labeled_expand(suite, secret, b"key", context, nk),
        labeled_expand(suite, secret, b"base_nonce", context, 12),
    )


def open_base(
    enc: bytes,
    ct: bytes,
    sk_r: X25519PrivateKey,
    info: bytes,
    aad: bytes,
    aead_id: int,
    seq: int = 0,
) -> bytes:
    key, base_nonce = key_schedule(decap(enc, sk_r), info, aead_id)
    nonce = bytes(a ^ b for a, b in zip(base_nonce, i2osp(seq, 12), strict=True))
    return AEADS[aead_id][0](key).decrypt(nonce, ct, aad)


def x25519_vectors() -> list[dict[str, Any]]:
    if not VECTORS.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{VECTORS} is missing in CI")
        pytest.skip(f"RFC 9180 vectors not found at {VECTORS}")
    cases = json.loads(VECTORS.read_text())
    return [
        c
        for c in cases
        if int(c["setup"]["kem_id"]) == KEM_X25519
        and int(c["setup"]["kdf_id"]) == KDF_HKDF_SHA256
        and int(c["setup"]["aead_id"]) in AEADS  # not the export-only suite
    ]


def test_the_independent_opener_reproduces_rfc_9180_appendix_a():
    cases = x25519_vectors()
    assert {int(c["setup"]["aead_id"]) for c in cases} >= {1, 3}
    for case in cases:
        setup = case["setup"]
        sk_r = X25519PrivateKey.from_private_bytes(bytes.fromhex(setup["skRm"]))
        enc, info = bytes.fromhex(setup["enc"]), bytes.fromhex(setup["info"])
        aead_id = int(setup["aead_id"])
        assert decap(enc, sk_r).hex() == setup["shared_secret"]
        key, nonce = key_schedule(bytes.fromhex(setup["shared_secret"]), info, aead_id)
        assert (key.hex(), nonce.hex()) == (setup["key"], setup["base_nonce"])
        for encryption in case["encryptions"]:
            opened = open_base(
                enc,
                bytes.fromhex(encryption["ct"]),
                sk_r,
                info,
                bytes.fromhex(encryption["aad"]),
                aead_id,
                int(encryption["sequence number"]),
            )
            assert opened.hex() == encryption["pt"]


async def test_a_sealed_message_opens_with_the_independent_rfc_9180_implementation(
    running, clients
):
    # The provider's relation to the children (issue 19), without entries the log would count.
    await seed_referral(running, "zorg-noord", BSN_CHILD)
    provider = clients("zorg-noord")
    team = clients("swt-denhelder")
    payload = example("evaluation-feedback")
    await provider.send("evaluation-feedback", "swt-denhelder", BSN_CHILD, payload)
    token = await team.token()
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            running.url + "/v1/inbox", headers={"Authorization": f"Bearer {token}"}
        ) as response,
    ):
        [message] = (await response.json())["messages"]
    assert "payload" not in message
    assert "subject" not in message
    sealed = message["sealed"]
    assert sealed["suite"] == "DHKEM-X25519-HKDF-SHA256/HKDF-SHA256/AES-256-GCM"
    blob = base64.urlsafe_b64decode(sealed["ciphertext"] + "=" * (-len(sealed["ciphertext"]) % 4))
    enc, ct = blob[:32], blob[32:]
    jwk = next(k for k in private_jwks("swt-denhelder")["keys"] if k.get("use") == "enc")
    sk_r = X25519PrivateKey.from_private_bytes(base64.urlsafe_b64decode(jwk["d"] + "=="))
    info = b"social-domain-gateway/v1:" + message["id"].encode()
    plaintext = open_base(enc, ct, sk_r, info, b"", aead_id=0x0002)
    opened = json.loads(plaintext)
    assert opened["subject"] == {"bsn": BSN_CHILD}
    assert opened["payload"] == payload
    with pytest.raises(Exception):  # noqa: B017, PT011 - any AEAD failure: the info binds the message id
        open_base(enc, ct, sk_r, info + b"x", b"", aead_id=0x0002)
