"""The baselines: a bare aiohttp server that reads a JSON body and answers it, nothing more;
and the same server that also seals each body to a recipient, as the contract requires.

Both run the way `gateway serve` does (one socket bound once, the same number of forked worker
processes, no access log), so the difference in a benchmark is the gateway's own work.

`--seal` is the floor under any implementation of the contract on this stack, for messages to
a recipient with an encryption key (as in the benchmark): besides reading and answering the
JSON (with orjson, as the gateway does), it does only what the contract makes each such message
cost, an RFC 9180 single-shot seal (one fresh X25519 key pair and one X25519 agreement) of
`{"subject", "payload"}` to the recipient's key, with the gateway's own `seal`. No checks, no
storage: what the gateway does beyond this floor is its own overhead.

    python -m bench.bare --port 8181 --workers 2
    python -m bench.bare --port 8182 --workers 2 --seal
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import signal
import socket
from collections.abc import Awaitable, Callable, Sequence

import orjson
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from gateway.delivery.sealed import seal

__all__ = ["SEALED_LENGTH", "echo", "main", "make_app", "sealing_echo"]

SEALED_LENGTH = "X-Sealed-Length"  # the floor's answer says how long its sealed message was


async def echo(request: web.Request) -> web.Response:
    """Parse the JSON body and send it back: the least any JSON API does per request."""
    body = json.loads(await request.read())
    return web.json_response(body, status=201)


def sealing_echo(recipient: X25519PublicKey) -> Callable[[web.Request], Awaitable[web.Response]]:
    """echo, after sealing the body's subject and payload to `recipient` under a fresh id.

    JSON goes through orjson, as in the gateway, so that no part of the floor is slower than the
    gateway's own way of doing it: what it measures is the seal.
    """

    async def handle(request: web.Request) -> web.Response:
        body = orjson.loads(await request.read())
        message_id = "msg_" + secrets.token_hex(16)
        plaintext = orjson.dumps({"subject": body["subject"], "payload": body["payload"]})
        sealed = seal(plaintext, recipient, message_id)
        return web.Response(
            body=orjson.dumps(body),
            status=201,
            content_type="application/json",
            headers={SEALED_LENGTH: str(len(sealed))},
        )

    return handle


def make_app(*, seal_to: X25519PublicKey | None = None) -> web.Application:
    """The bare server's app; with `seal_to`, the floor's, sealing each body to that key."""
    app = web.Application()
    handler = echo if seal_to is None else sealing_echo(seal_to)
    app.router.add_post("/v1/exchanges", handler)
    return app


async def _worker(sock: socket.socket, announce: str | None, sealing: bool) -> None:
    recipient = X25519PrivateKey.generate().public_key() if sealing else None
    runner = web.AppRunner(make_app(seal_to=recipient), access_log=None, handle_signals=False)
    await runner.setup()
    # The gateway's own socket handling (gateway/server.py): accept one connection per wake-up
    # so the workers share the connections evenly, then restore the kernel's queue. Without it
    # one worker takes most of them and bare reaches 12-22k req/s instead of 21-27k at 64
    # connections, which would flatter the gateway.
    await web.SockSite(runner, sock, backlog=1).start()
    sock.listen(1024)
    if announce is not None:
        print(announce, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def serve(host: str, port: int, workers: int, *, sealing: bool = False) -> int:
    """Bind once and serve from `workers` forked processes until SIGTERM."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    announce = f"listening on http://{host}:{port}"
    children: list[int] = []
    for n in range(workers):
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                asyncio.run(_worker(sock, announce if n == 0 else None, sealing))
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        children.append(pid)

    def forward(_signum: int, _frame: object) -> None:
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    status = 0
    for child in children:
        _, code = os.waitpid(child, 0)
        status = status or (1 if code else 0)
    return status


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bare", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8181)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seal", action="store_true", help="also HPKE-seal each body (the floor)")
    args = parser.parse_args(argv)
    return serve(args.host, args.port, args.workers, sealing=args.seal)


if __name__ == "__main__":
    raise SystemExit(main())
