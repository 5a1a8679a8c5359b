"""The baseline: a bare aiohttp server that reads a JSON body and answers it, nothing more.

It runs the way `gateway serve` does (one socket bound once, the same number of forked worker
processes, no access log), so the difference in a benchmark is the gateway's own work.

    python -m bench.bare --port 8181 --workers 2
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
from collections.abc import Sequence

from aiohttp import web

__all__ = ["echo", "main", "make_app"]


async def echo(request: web.Request) -> web.Response:
    """Parse the JSON body and send it back: the least any JSON API does per request."""
    body = json.loads(await request.read())
    return web.json_response(body, status=201)


def make_app() -> web.Application:
    app = web.Application()
    app.router.add_post("/v1/exchanges", echo)
    return app


async def _worker(sock: socket.socket, announce: str | None) -> None:
    runner = web.AppRunner(make_app(), access_log=None, handle_signals=False)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    if announce is not None:
        print(announce, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def serve(host: str, port: int, workers: int) -> int:
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
                asyncio.run(_worker(sock, announce if n == 0 else None))
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
    args = parser.parse_args(argv)
    return serve(args.host, args.port, args.workers)


if __name__ == "__main__":
    raise SystemExit(main())
