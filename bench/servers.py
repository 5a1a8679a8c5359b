"""Start the two servers under test as child processes, and get access tokens from the gateway."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from gateway.client.assertion import make_client_assertion
from gateway.config import load_settings

__all__ = [
    "REPO",
    "Server",
    "fetch_token",
    "free_port",
    "gateway_command",
    "relate",
    "running",
]

REPO = Path(__file__).resolve().parent.parent
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass(frozen=True, slots=True)
class Server:
    """A server under test: its base URL and its process (the parent of its workers)."""

    name: str
    url: str
    process: subprocess.Popen[bytes]


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def gateway_command(
    config: Path, data: Path, port: int, workers: int, storage: str | None = None
) -> list[str]:
    command = [sys.executable, "-m", "gateway.cli", "serve", "--config", str(config)]
    command += ["--data", str(data), "--port", str(port), "--workers", str(workers)]
    command += ["--metrics-port", "0"]  # /metrics has its own port; any free one here
    return command if storage is None else [*command, "--storage", storage]


def bare_command(port: int, workers: int, *, seal: bool = False) -> list[str]:
    command = [sys.executable, "-m", "bench.bare", "--port", str(port), "--workers", str(workers)]
    return [*command, "--seal"] if seal else command


@contextlib.contextmanager
def running(
    name: str, command: Sequence[str], port: int, log: IO[bytes], timeout_s: float = 60
) -> Iterator[Server]:
    """Run a server until the block ends; wait for its `listening on` line first."""
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and modules
        list(command),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=log,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        _await_listening(process, timeout_s)
        yield Server(name, f"http://127.0.0.1:{port}", process)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout is not None:
            process.stdout.close()


def _await_listening(process: subprocess.Popen[bytes], timeout_s: float) -> None:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"server exited before listening (code {process.wait()})")
        if line.startswith(b"listening on "):
            return
    raise RuntimeError("server did not start listening in time")


def fetch_token(base_url: str, config: Path, partner: str, role: str, actor: str) -> str:
    """A fresh access token for a demo partner, the way a partner gets one (RFC 7523)."""
    keys = json.loads((config / "demo" / f"{partner}.private.jwks.json").read_text())
    signing = next(k for k in keys["keys"] if k.get("use", "sig") == "sig")
    assertion = make_client_assertion(
        signing,
        partner_id=partner,
        audience=load_settings(config).id,
        actor_id=actor,
        actor_role=role,
        now=datetime.now(UTC),
    )
    form = urllib.parse.urlencode(
        {
            "grant_type": "client_credentials",
            "client_assertion_type": JWT_BEARER,
            "client_assertion": assertion,
            "client_id": partner,
        }
    ).encode()
    answer = _post(f"{base_url}/v1/token", form, "application/x-www-form-urlencoded")
    token: str = answer["access_token"]
    return token


def _post(url: str, body: bytes, content_type: str, token: str | None = None) -> Any:
    headers = {"Content-Type": content_type}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - loopback http
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return json.loads(response.read())


def relate(base_url: str, config: Path, partner: str, bsn: str) -> None:
    """Give `partner` the relation to `bsn` that its reports presume (issue 19) the way a care
    provider gets it: the social team records the person's agreement and refers the person.

    A referral, not a case: the relation check reads the person's log entries from the oldest,
    and the referral is among the first, so every exchange of the run finds it at once.
    """
    token = fetch_token(base_url, config, "swt-denhelder", "procesregisseur", "bench-team")
    post_json(
        f"{base_url}/v1/consents",
        {
            # A child: an adult's evaluation feedback needs the adult's own agreement (issue 19).
            "subject": {"bsn": bsn, "birth_date": "2016-03-01"},
            "given_by": [{"role": "custodian"}],
            "purposes": ["referral"],
            "to": [partner],
            "evidence": {"method": "written", "reference": "bench"},
        },
        token,
    )
    referral = json.loads((REPO / "schemas" / "examples" / "referral.json").read_text())
    post_json(
        f"{base_url}/v1/exchanges",
        {"purpose": "referral", "to": partner, "subject": {"bsn": bsn}, "payload": referral},
        token,
    )


def post_json(url: str, value: Any, token: str | None = None) -> Any:
    """POST a JSON body and read the JSON answer (raises on any non-2xx status)."""
    return _post(url, json.dumps(value).encode(), "application/json", token)
