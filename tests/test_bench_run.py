"""bench.run's reference servers and verdicts: bare aiohttp, the floor that also seals, targets."""

from __future__ import annotations

import json

import orjson
from aiohttp.test_utils import TestClient, TestServer
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from bench.bare import SEALED_LENGTH, make_app
from bench.run import exchange_body, floor_ratio, targets

ENC_BYTES = 32  # an X25519 public key, HPKE's `enc`
TAG_BYTES = 16  # AES-256-GCM's tag


def _figures(rps: float, p99_ms: float = 10.0) -> dict[str, float]:
    return {"rps": rps, "p50_ms": 1.0, "p99_ms": p99_ms, "p999_ms": 20.0}


async def test_the_bare_server_answers_the_body_it_was_sent() -> None:
    async with TestClient(TestServer(make_app())) as client:
        answer = await client.post("/v1/exchanges", data=exchange_body())
        assert answer.status == 201
        assert await answer.json() == json.loads(exchange_body())
        assert SEALED_LENGTH not in answer.headers


async def test_the_floor_seals_subject_and_payload_before_it_answers() -> None:
    body = json.loads(exchange_body())
    plaintext = orjson.dumps({"subject": body["subject"], "payload": body["payload"]})
    recipient = X25519PrivateKey.generate().public_key()
    async with TestClient(TestServer(make_app(seal_to=recipient))) as client:
        answer = await client.post("/v1/exchanges", data=exchange_body())
        assert answer.status == 201
        assert await answer.json() == body
        # enc || ct: one fresh X25519 key, then the plaintext and its tag.
        assert int(answer.headers[SEALED_LENGTH]) == ENC_BYTES + len(plaintext) + TAG_BYTES


def test_targets_are_the_issues_two_and_the_floor_is_reported_beside_them() -> None:
    runs = {
        "bare": {"64": _figures(20_000)},
        "floor": {"64": _figures(8_000)},
        "gateway": {"64": _figures(2_000, p99_ms=40.0)},
    }
    met = targets(runs)
    assert set(met) == {"throughput_ratio_at_64", "gateway_p99_ms_at_64"}
    assert met["throughput_ratio_at_64"] == {"value": 0.1, "target": ">= 0.5", "met": False}
    assert met["gateway_p99_ms_at_64"]["met"] is False
    assert floor_ratio(runs) == 0.4


def test_targets_are_met_when_the_gateway_reaches_them() -> None:
    runs = {"bare": {"64": _figures(10_000)}, "gateway": {"64": _figures(6_000, p99_ms=20.0)}}
    assert all(target["met"] for target in targets(runs).values())
