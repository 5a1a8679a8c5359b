"""The load generator: Debian's `wrk`, driven by a Lua script that POSTs one JSON body.

The script's `done()` prints one machine-readable line with the request count, the errors and
the latency percentiles (wrk measures them in microseconds, from its HdrHistogram-like record
of every request), which `parse_summary` turns into a `LoadResult`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = ["LoadResult", "ensure_wrk", "lua_script", "parse_summary", "run_wrk"]

_SUMMARY = re.compile(r"^BENCH (?P<fields>.*)$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class LoadResult:
    """What one wrk run measured against one server at one concurrency."""

    connections: int
    duration_s: float
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    p999_ms: float
    non_2xx: int  # responses with status >= 400 (wrk's "status errors"); must stay 0
    socket_errors: int  # connect, read, write errors and timeouts

    def figures(self) -> dict[str, float]:
        """The four numbers latest.json keeps per run."""
        return {
            "rps": round(self.rps, 1),
            "p50_ms": round(self.p50_ms, 2),
            "p99_ms": round(self.p99_ms, 2),
            "p999_ms": round(self.p999_ms, 2),
        }

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def lua_script(body: bytes, headers: Mapping[str, str]) -> str:
    """A wrk script that POSTs `body` with `headers` and reports its summary in one line."""
    lines = ['wrk.method = "POST"', f"wrk.body = {_lua_string(body.decode('utf-8'))}"]
    lines += [f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}" for k, v in headers.items()]
    lines.append(
        """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d status=%d connect=%d read=%d write=%d timeout=%d "
    .. "p50_us=%.1f p99_us=%.1f p999_us=%.1f\\n",
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))
end
"""
    )
    return "\n".join(lines)


def _lua_string(text: str) -> str:
    # For printable ASCII, json.dumps only escapes '"' and '\\', which Lua reads the same way;
    # the \uXXXX escapes it would use for anything else are not Lua, so refuse those.
    if not text.isascii() or any(ord(c) < 0x20 for c in text):
        raise ValueError("the wrk script carries printable ASCII text only")
    return json.dumps(text)


def parse_summary(output: str, connections: int) -> LoadResult:
    """Read the `BENCH ...` line that the script's done() printed."""
    found = _SUMMARY.search(output)
    if found is None:
        raise RuntimeError(f"wrk printed no summary line:\n{output}")
    values = {
        key: float(value) for key, value in (item.split("=", 1) for item in found["fields"].split())
    }
    duration_s = values["duration_us"] / 1e6
    requests = int(values["requests"])
    return LoadResult(
        connections=connections,
        duration_s=duration_s,
        requests=requests,
        rps=requests / duration_s if duration_s else 0.0,
        p50_ms=values["p50_us"] / 1000,
        p99_ms=values["p99_us"] / 1000,
        p999_ms=values["p999_us"] / 1000,
        non_2xx=int(values["status"]),
        socket_errors=int(values["connect"] + values["read"] + values["write"] + values["timeout"]),
    )


def ensure_wrk() -> str:
    """The path of wrk, installing Debian's package when it is missing and we may."""
    found = shutil.which("wrk")
    if found is not None:
        return found
    if os.geteuid() != 0:
        raise RuntimeError("wrk is not installed: run `sudo apt-get install -y wrk`")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)  # noqa: S607 - apt from PATH
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env)  # noqa: S607
    found = shutil.which("wrk")
    if found is None:
        raise RuntimeError("installing wrk did not put it on PATH")
    return found


def run_wrk(
    wrk: str,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    connections: int,
    duration_s: float,
    threads: int = 1,
) -> LoadResult:
    """Drive `url` with `connections` open connections for `duration_s` seconds."""
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        script = Path(tmp) / "post.lua"
        script.write_text(lua_script(body, headers), encoding="utf-8")
        done = subprocess.run(  # noqa: S603 - fixed arguments, our own script
            [
                wrk,
                f"--threads={min(threads, connections)}",
                f"--connections={connections}",
                f"--duration={max(1, round(duration_s))}s",
                "--timeout=10s",
                "--latency",
                f"--script={script}",
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=duration_s + 60,
        )
    return parse_summary(done.stdout, connections)
