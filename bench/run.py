"""`make bench`: the gateway's whole pipeline against a bare aiohttp server, in one run.

Three servers run side by side on loopback with the same number of forked workers; wrk drives
each in turn, at 1, 16 and 64 connections, with the same Lua script POSTing the same body:
bare aiohttp (read the JSON, answer it), the floor (bare plus the HPKE seal the contract makes
every message cost, `bench/bare.py --seal`) and the gateway. The gateway's requests are real
exchanges (token check, purpose and basis decision, schema validation, durable log entry,
HPKE-sealed inbox message) that must all answer 201: any other status, any socket error, or
fewer logged disclosures than answered requests fails the run. The floor shows how much of the
distance to bare is the contract's own price and how much is the gateway's.

    python -m bench.run            # 15 s per measurement: bench/results/latest.{json,png}
    python -m bench.run --quick    # 4 s per measurement, under a minute: bench/results/quick.*
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.machine import describe_machine, load_average
from bench.plot import plot_runs
from bench.servers import (
    REPO,
    Server,
    bare_command,
    fetch_token,
    free_port,
    gateway_command,
    relate,
    running,
)
from bench.wrk import LoadResult, ensure_wrk, run_wrk

__all__ = ["Plan", "exchange_body", "floor_ratio", "main", "targets"]

RESULTS = REPO / "bench" / "results"
CONFIG = REPO / "config"
SENDER, ROLE, RECIPIENT = "zorg-noord", "casusregisseur", "swt-denhelder"
BSN = "999993653"  # a test BSN: passes the elfproef, belongs to nobody
THROUGHPUT_RATIO_TARGET = 0.5
P99_TARGET_MS = 25.0


@dataclass(frozen=True, slots=True)
class Plan:
    """How long and how hard to drive the servers."""

    connections: tuple[int, ...]
    duration_s: float
    warmup_s: float
    workers: int
    wrk_threads: int

    @classmethod
    def for_mode(cls, *, quick: bool, workers: int) -> Plan:
        if quick:
            return cls((1, 16, 64), duration_s=4, warmup_s=1, workers=workers, wrk_threads=1)
        return cls((1, 16, 64), duration_s=15, warmup_s=3, workers=workers, wrk_threads=1)


def exchange_body() -> bytes:
    """A realistic exchange: evaluation feedback from a provider to the social team (statute)."""
    payload = json.loads((REPO / "schemas" / "examples" / "evaluation-feedback.json").read_text())
    body = {
        "purpose": "evaluation-feedback",
        "to": [RECIPIENT],
        "subject": {"bsn": BSN},
        "payload": payload,
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def _headers(server: Server, config: Path) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if server.name == "gateway":
        # Tokens live 300 s: a fresh one per measurement never runs out mid-run.
        token = fetch_token(server.url, config, SENDER, ROLE, "bench-casusregisseur")
        headers["Authorization"] = f"Bearer {token}"
    return headers


def _drive(
    wrk: str,
    server: Server,
    config: Path,
    body: bytes,
    connections: int,
    seconds: float,
    threads: int,
) -> LoadResult:
    result = run_wrk(
        wrk,
        f"{server.url}/v1/exchanges",
        body,
        _headers(server, config),
        connections=connections,
        duration_s=seconds,
        threads=threads,
    )
    if result.non_2xx or result.socket_errors:
        raise RuntimeError(
            f"{server.name} at {connections} connections: {result.non_2xx} non-2xx responses, "
            f"{result.socket_errors} socket errors"
        )
    return result


def _disclosed(database: Path) -> int:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
        row = conn.execute(
            "SELECT COUNT(*) FROM log_entries WHERE decision = 'disclosed'"
        ).fetchone()
    return int(row[0])


def bench_config(work: Path) -> Path:
    """The shipped configuration with the per-partner rate limits lifted out of the way.

    The limiter still runs on every request (its cost is measured); only its ceiling, meant to
    stop one runaway partner, would otherwise turn the benchmark's single sender into 429s.
    """
    config = work / "config"
    shutil.copytree(CONFIG, config)
    settings = config / "gateway.toml"
    lines = [
        f'schemas_dir = "{REPO / "schemas"}"' if line.startswith("schemas_dir") else line
        for line in settings.read_text().splitlines()
    ]
    lines += [
        "",
        "[rate_limits]",
        "care_provider = { per_second = 1000000, burst = 1000000 }",
        "actor = { per_second = 1000000, burst = 1000000 }",
    ]
    settings.write_text("\n".join(lines) + "\n")
    return config


def measure(plan: Plan, work: Path, say: Any = print) -> dict[str, dict[int, LoadResult]]:
    """Start both servers, warm them up, and measure each at every concurrency."""
    wrk = ensure_wrk()
    body = exchange_body()
    config = bench_config(work)
    data = work / "gateway-data"
    results: dict[str, dict[int, LoadResult]] = {"bare": {}, "floor": {}, "gateway": {}}
    answered = 0
    with (work / "servers.log").open("wb") as log:
        bare_port, floor_port, gateway_port = free_port(), free_port(), free_port()
        with (
            running("bare", bare_command(bare_port, plan.workers), bare_port, log) as bare,
            running(
                "floor", bare_command(floor_port, plan.workers, seal=True), floor_port, log
            ) as floor,
            running(
                "gateway",
                gateway_command(config, data, gateway_port, plan.workers),
                gateway_port,
                log,
            ) as gateway,
        ):
            # The provider's relation to the person its feedback is about (issue 19).
            relate(gateway.url, config, SENDER, BSN)
            for server in (bare, floor, gateway):
                warm = _drive(wrk, server, config, body, 16, plan.warmup_s, plan.wrk_threads)
                answered += warm.requests if server is gateway else 0
            # Alternating per level spreads any drift in the machine's load over the servers.
            for connections in plan.connections:
                for server in (bare, floor, gateway):
                    result = _drive(
                        wrk, server, config, body, connections, plan.duration_s, plan.wrk_threads
                    )
                    results[server.name][connections] = result
                    answered += result.requests if server is gateway else 0
                    say(
                        f"  {server.name:8s} {connections:3d} conns: {result.rps:8.0f} req/s, "
                        f"p50 {result.p50_ms:.2f} ms, p99 {result.p99_ms:.2f} ms"
                    )
    logged = _disclosed(data / "gateway.sqlite3")
    if logged < answered:
        raise RuntimeError(f"{answered} exchanges answered 201 but only {logged} are in the log")
    return results


def targets(runs: dict[str, dict[str, dict[str, float]]]) -> dict[str, dict[str, Any]]:
    """Each target of the issue with the measured value and whether it is met."""
    gateway, bare = runs["gateway"]["64"], runs["bare"]["64"]
    ratio = gateway["rps"] / bare["rps"] if bare["rps"] else 0.0
    return {
        "throughput_ratio_at_64": {
            "value": round(ratio, 3),
            "target": f">= {THROUGHPUT_RATIO_TARGET}",
            "met": ratio >= THROUGHPUT_RATIO_TARGET,
        },
        "gateway_p99_ms_at_64": {
            "value": gateway["p99_ms"],
            "target": f"<= {P99_TARGET_MS}",
            "met": gateway["p99_ms"] <= P99_TARGET_MS,
        },
    }


def floor_ratio(runs: dict[str, dict[str, dict[str, float]]]) -> float:
    """floor/bare at 64 connections: the most any gateway/bare ratio can reach on this machine.

    The floor does nothing but what the contract makes every message to a recipient with an
    encryption key cost; no implementation of the contract on this stack does less.
    """
    bare = runs["bare"]["64"]["rps"]
    return round(runs["floor"]["64"]["rps"] / bare, 3) if bare else 0.0


def _table(runs: dict[str, dict[str, dict[str, float]]]) -> str:
    lines = [
        f"{'server':8s} {'conns':>5s} {'req/s':>9s} {'p50 ms':>8s} {'p99 ms':>8s} {'p99.9 ms':>9s}"
    ]
    for server, levels in runs.items():
        for connections, f in levels.items():
            lines.append(
                f"{server:8s} {connections:>5s} {f['rps']:9.0f} {f['p50_ms']:8.2f} "
                f"{f['p99_ms']:8.2f} {f['p999_ms']:9.2f}"
            )
    for connections in runs["bare"]:
        bare = runs["bare"][connections]["rps"]
        ratios = [
            f"{server}/bare {runs[server][connections]['rps'] / bare:.2f}"
            for server in runs
            if server != "bare"
        ]
        lines.append(f"ratio at {connections:>2s}: " + ", ".join(ratios))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short runs, under a minute")
    parser.add_argument("--workers", type=int, default=2, help="worker processes per server")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the results go")
    args = parser.parse_args(argv)
    plan = Plan.for_mode(quick=args.quick, workers=args.workers)
    machine = describe_machine()
    started = time.monotonic()
    print(
        f"bench: {plan.workers} workers each, {plan.duration_s:.0f} s per measurement, "
        f"load average before {machine['load_average_before']}"
    )
    with tempfile.TemporaryDirectory(prefix="gateway-bench-") as tmp:
        measured = measure(plan, Path(tmp))
    machine["load_average_after"] = load_average()
    runs = {
        server: {str(c): r.figures() for c, r in levels.items()}
        for server, levels in measured.items()
    }
    met = targets(runs)
    report = {
        "machine": machine,
        "command": "make bench" + (" QUICK=1" if args.quick else ""),
        "plan": {
            "workers": plan.workers,
            "duration_s": plan.duration_s,
            "load_generator": f"wrk, {plan.wrk_threads} thread, Lua POST script",
            "request": f"POST /v1/exchanges evaluation-feedback {SENDER} -> {RECIPIENT}",
        },
        "runs": runs,
        "requests": {
            server: {str(c): r.requests for c, r in levels.items()}
            for server, levels in measured.items()
        },
        "ratio_at_64": met["throughput_ratio_at_64"]["value"],
        "floor_ratio_at_64": floor_ratio(runs),
        "targets": met,
        "elapsed_s": round(time.monotonic() - started, 1),
    }
    stem = "quick" if args.quick else "latest"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{stem}.json").write_text(json.dumps(report, indent=2) + "\n")
    plot_runs(
        runs,
        f"gateway, floor (bare + seal) and bare aiohttp, {plan.workers} workers each, {machine['cores']} cores "
        f"(wrk on the same machine)",
        args.out / f"{stem}.png",
    )
    print(_table(runs))
    for name, target in met.items():
        print(
            f"target {name}: {target['value']} (want {target['target']}): "
            + ("met" if target["met"] else "NOT met")
        )
    reachable = floor_ratio(runs)
    print(
        f"floor/bare at 64: {reachable} (the most any gateway/bare ratio can reach here; the "
        f"throughput target is {'within' if reachable >= THROUGHPUT_RATIO_TARGET else 'beyond'} it)"
    )
    print(f"load average after {machine['load_average_after']}; wrote {args.out}/{stem}.json, .png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
