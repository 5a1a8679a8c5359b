"""`make soak`: mixed traffic for a long while, then prove nothing leaked, failed or went missing.

One gateway (`gateway serve`, two forked workers, a fresh data folder; on SQLite or on a fresh
PostgreSQL schema) is driven by load processes of its own (asyncio + aiohttp, 64 connections in
all) with the traffic of a working municipality: partners fetch tokens (real RFC 7523 client
assertions), ask "may I share?", send exchanges (statutory and consent-based), pull their
inboxes with leases and acknowledge each message, and the privacy officer searches the log.

Meanwhile each worker's resident memory is sampled (`/proc/PID/status` VmRSS). At the end the
load stops, the gateway stops, and:

- every acknowledged exchange (201) must be in the log at the index its answer named, and
  every acknowledged inbox message (204) must have its delivery receipt in the log;
- `gateway log verify` must accept the log;
- no answer may be a 5xx (nor an unexpected status, nor a broken connection);
- no worker's memory (VmRSS, the median of 30 s of samples) may grow by 10% or more between
  the end of the warm-up (10% of the run, at least 30 s, at most half of it) and the end.

Any failure exits 1. The per-partner rate limits are raised in a copied configuration (the
limiter still runs on every request), or the soak would measure the limiter's ceiling.

    python -m bench.soak                                # 600 s on SQLite, then on PostgreSQL
    python -m bench.soak --duration 60 --backend sqlite # bench/results/soak-sqlite.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from bench.machine import describe_machine, load_average
from bench.servers import REPO, free_port, gateway_command, running
from gateway.client.http import GatewayClientError, PartnerClient
from gateway.config import load_settings

__all__ = ["main", "run_soak"]

RESULTS = REPO / "bench" / "results"
CONFIG = REPO / "config"
GATEWAY = str(Path(sys.executable).with_name("gateway"))
POSTGRES_DSN = os.environ.get("GATEWAY_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
CONNECTIONS = 64
WORKERS = 2  # one per core, as `make bench` runs it
WARMUP_SHARE = 0.1
# ...but never under 30 s (nor over half the run): until then the workers' SQLite page caches,
# thread arenas and connection buffers are still filling, which is not growth.
MIN_WARMUP_S = 30.0
GROWTH_LIMIT = 0.10
SAMPLE_EVERY_S = 5.0
MEMORY_WINDOW_S = 30.0  # warm and end memory: the median of the samples in such a window
LEASE_S = 60
RAISED_RATE = "{ per_second = 1000000, burst = 1000000 }"

# Who acts, as which professional role (the demo partners of config/partners.toml).
ROLES = {
    "swt-denhelder": "procesregisseur",
    "zorg-noord": "casusregisseur",
    "gi-noordholland": "jeugdbeschermer",
    "school-de-es": "intern_begeleider",
    "fg-denhelder": "privacy_officer",
}
# (purpose, sender, recipient, consent-based): what the exchanges are made of.
EXCHANGES = (
    ("evaluation-feedback", "zorg-noord", "swt-denhelder", False),
    ("start-stop", "zorg-noord", "swt-denhelder", False),
    ("waiting-list-status", "gi-noordholland", "swt-denhelder", False),
    ("safety-assessment", "zorg-noord", "gi-noordholland", False),
    ("information-request", "swt-denhelder", "school-de-es", True),
)
RECIPIENTS = ("swt-denhelder", "gi-noordholland", "school-de-es")
# Share of each kind of call a connection makes; an inbox pull is followed by one ack per
# message it returned, counted as `ack`.
MIX = {"exchange": 36, "check": 24, "inbox_pull": 18, "audit_search": 10, "token": 12}
SUBJECTS = 40  # distinct people the traffic is about
CONSENTED = 10  # of whom this many gave consent for information requests to the school


def test_bsn(seed: int) -> str:
    """A fictitious nine-digit number in the 9999 test range that passes the elfproef."""
    base = 99_990_000 + 16 * seed
    while True:
        digits = f"{base:08d}"
        check = sum(int(d) * w for d, w in zip(digits, range(9, 1, -1), strict=True)) % 11
        if check < 10:
            return digits + str(check)
        base += 1


def _example(purpose: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(
        (REPO / "schemas" / "examples" / f"{purpose}.json").read_text()
    )
    return loaded


# -- the load: one process drives its share of the connections --------------------------------


@dataclass
class Tally:
    """What one load process saw: statuses and latencies per kind, and what was acknowledged."""

    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    latencies_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    broken: Counter[str] = field(default_factory=Counter)  # kind: connection-level failures
    unexpected: list[str] = field(default_factory=list)  # first few, to explain a failure
    exchanges: list[tuple[str, list[tuple[str, int]]]] = field(default_factory=list)
    acked: list[str] = field(default_factory=list)

    def record(self, kind: str, status: int, started: float, expected: tuple[int, ...]) -> None:
        self.statuses[kind][status] += 1
        self.latencies_ms[kind].append((time.perf_counter() - started) * 1000)
        if status not in expected and len(self.unexpected) < 20:
            self.unexpected.append(f"{kind}: {status}")

    def to_json(self) -> dict[str, Any]:
        return {
            "statuses": {k: {str(s): n for s, n in c.items()} for k, c in self.statuses.items()},
            "latencies_ms": dict(self.latencies_ms),
            "broken": dict(self.broken),
            "unexpected": self.unexpected,
            "exchanges": self.exchanges,
            "acked": self.acked,
        }


class Traffic:
    """The calls a connection makes, over one shared aiohttp session (its connection pool)."""

    def __init__(self, url: str, audience: str, session: aiohttp.ClientSession, seed: int) -> None:
        self.url = url
        self.session = session
        self.tally = Tally()
        self.rng = random.Random(seed)  # noqa: S311 - picks the traffic mix, guards nothing
        self.subjects = [test_bsn(n) for n in range(SUBJECTS)]
        self.clients = {
            partner: PartnerClient(
                url,
                partner_id=partner,
                private_jwks=json.loads(
                    (CONFIG / "demo" / f"{partner}.private.jwks.json").read_text()
                ),
                actor_id=f"{partner}-soak-{seed}",
                actor_role=role,
                audience=audience,
                session=session,
            )
            for partner, role in ROLES.items()
        }

    async def call(
        self,
        kind: str,
        partner: str,
        method: str,
        path: str,
        expected: tuple[int, ...],
        **kwargs: Any,
    ) -> tuple[int, Any]:
        """One API call as `partner`: its status, and its JSON when it is one of `expected`."""
        token = await self.clients[partner].token()
        started = time.perf_counter()
        async with self.session.request(
            method, self.url + path, headers={"Authorization": f"Bearer {token}"}, **kwargs
        ) as response:
            body = await response.read()
        self.tally.record(kind, response.status, started, expected)
        if response.status not in expected or not body:
            return response.status, None
        return response.status, json.loads(body)

    async def token(self) -> None:
        partner = self.rng.choice(list(ROLES))
        started = time.perf_counter()
        try:
            await self.clients[partner].token(force=True)
        except GatewayClientError as refused:
            self.tally.record("token", refused.status, started, (200,))
        else:
            self.tally.record("token", 200, started, (200,))

    def _exchange_body(self, *, with_payload: bool = True) -> tuple[str, dict[str, Any]]:
        purpose, sender, recipient, consented = self.rng.choice(EXCHANGES)
        pool = self.subjects[:CONSENTED] if consented else self.subjects
        body: dict[str, Any] = {
            "purpose": purpose,
            "to": recipient,
            "subject": {"bsn": self.rng.choice(pool)},
        }
        if with_payload:
            body["payload"] = _example(purpose)
        return sender, body

    async def exchange(self) -> None:
        sender, body = self._exchange_body()
        _, answer = await self.call("exchange", sender, "POST", "/v1/exchanges", (201,), json=body)
        if answer is not None:
            disclosures = [(d["disclosure_id"], d["log_index"]) for d in answer["disclosures"]]
            self.tally.exchanges.append((answer["exchange_id"], disclosures))

    async def check(self) -> None:
        if self.rng.random() < 0.25:
            # A question the answer to which is "no": no consent covers this person.
            body = {
                "purpose": "information-request",
                "to": "school-de-es",
                "subject": {"bsn": self.rng.choice(self.subjects[CONSENTED:])},
            }
            sender = "swt-denhelder"
        else:
            sender, body = self._exchange_body(with_payload=self.rng.random() < 0.5)
        await self.call("check", sender, "POST", "/v1/exchanges/check", (200,), json=body)

    async def inbox_pull(self) -> None:
        recipient = self.rng.choice(RECIPIENTS)
        params = {"lease": str(LEASE_S), "limit": "10"}
        _, page = await self.call(
            "inbox_pull", recipient, "GET", "/v1/inbox", (200,), params=params
        )
        for message in [] if page is None else page["messages"]:
            path = f"/v1/inbox/{message['id']}/ack"
            status, _ = await self.call("ack", recipient, "POST", path, (204,))
            if status == 204:
                self.tally.acked.append(message["id"])

    async def audit_search(self) -> None:
        choice = self.rng.random()
        if choice < 0.4:
            params = {"partner": self.rng.choice(list(ROLES)[:4]), "limit": "50"}
        elif choice < 0.8:
            purpose = self.rng.choice(EXCHANGES)[0]
            params = {"purpose": purpose, "decision": "disclosed", "limit": "50"}
        else:
            params = {"bsn": self.rng.choice(self.subjects), "limit": "50"}
        await self.call(
            "audit_search", "fg-denhelder", "GET", "/v1/audit/entries", (200,), params=params
        )

    async def connection(self, until: float) -> None:
        """One connection's loop: pick a call by the mix, make it, until the deadline."""
        kinds, weights = list(MIX), list(MIX.values())
        while time.monotonic() < until:
            kind = self.rng.choices(kinds, weights)[0]
            try:
                await getattr(self, kind)()
            except (aiohttp.ClientError, OSError, GatewayClientError, ValueError) as exc:
                # Broken connections and timeouts (OSError), a refused token refresh, a body
                # that is not JSON: all count against the run.
                self.tally.broken[kind] += 1
                if len(self.tally.unexpected) < 20:
                    self.tally.unexpected.append(f"{kind}: {type(exc).__name__}")
                await asyncio.sleep(0.05)


async def _drive(url: str, audience: str, connections: int, duration_s: float, seed: int) -> Tally:
    connector = aiohttp.TCPConnector(limit=connections, limit_per_host=connections)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        traffic = Traffic(url, audience, session, seed)
        until = time.monotonic() + duration_s
        await asyncio.gather(*(traffic.connection(until) for _ in range(connections)))
        return traffic.tally


def _load_process(
    url: str, audience: str, connections: int, duration_s: float, seed: int, out: str
) -> None:
    """Entry point of a load process: drive, then leave the tally in a JSON file."""
    tally = asyncio.run(_drive(url, audience, connections, duration_s, seed))
    Path(out).write_text(json.dumps(tally.to_json()))


async def _record_consents(url: str, audience: str) -> None:
    """The consents the consent-based traffic relies on: the first CONSENTED people's; and the
    provider's relation to every person it reports on (issue 19): the team refers each person to
    it, on the person's agreement (among each person's first entries, so the relation check
    finds it at once however long the run)."""
    async with aiohttp.ClientSession() as session:
        team = Traffic(url, audience, session, seed=0).clients["swt-denhelder"]
        for n in range(SUBJECTS):
            await team.record_consent(
                {
                    # Children: an adult's feedback would need the adult's agreement.
                    "subject": {"bsn": test_bsn(n), "birth_date": "2016-03-01"},
                    "given_by": [{"role": "custodian"}],
                    "purposes": ["referral"],
                    "to": ["zorg-noord"],
                    "evidence": {"method": "written", "reference": f"soak-referral-{n}"},
                }
            )
            await team.send("referral", "zorg-noord", test_bsn(n), _example("referral"))
        for n in range(CONSENTED):
            await team.record_consent(
                {
                    # Children: an adult's feedback would need the adult's agreement.
                    "subject": {"bsn": test_bsn(n), "birth_date": "2016-03-01"},
                    "given_by": [{"role": "custodian"}],
                    "purposes": ["information-request"],
                    "to": ["school-de-es"],
                    "evidence": {"method": "written", "reference": f"soak-{n}"},
                }
            )


# -- the gateway under test, its workers' memory, and the checks afterwards --------------------


def soak_config(work: Path) -> Path:
    """The shipped configuration with every rate limit raised out of the way."""
    config = work / "config"
    shutil.copytree(CONFIG, config)
    settings = config / "gateway.toml"
    lines = [
        f'schemas_dir = "{REPO / "schemas"}"' if line.startswith("schemas_dir") else line
        for line in settings.read_text().splitlines()
    ]
    kinds = (
        "social_team",
        "care_provider",
        "certified_institution",
        "school",
        "privacy_officer",
        "actor",
    )
    lines += ["", "[rate_limits]", "failed_assertions_per_minute = 1000000"]
    lines += [f"{kind} = {RAISED_RATE}" for kind in kinds]
    settings.write_text("\n".join(lines) + "\n")
    return config


def workers_of(parent: int) -> list[int]:
    """The worker processes: the children of the serving process."""
    listing = Path(f"/proc/{parent}/task/{parent}/children")
    if listing.exists():
        return sorted(int(pid) for pid in listing.read_text().split())
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            # The command may hold spaces and parentheses: the ppid follows the last ')'.
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == parent:
                children.append(int(stat.parent.name))
    return sorted(children)


def warmup_s(duration_s: float) -> float:
    """When the memory baseline is taken: 10% into the run, at least 30 s, at most halfway."""
    return min(duration_s / 2, max(duration_s * WARMUP_SHARE, MIN_WARMUP_S))


def memory_kib(pid: int) -> dict[str, int]:
    """A process's resident memory in KiB: VmRSS, and its anonymous and file-backed parts."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "RssAnon", "RssFile"):
            fields[name] = int(value.split()[0])
    if "VmRSS" not in fields:
        raise RuntimeError(f"no VmRSS for process {pid}")
    return fields


@contextlib.contextmanager
def serving(
    config: Path, data: Path, storage: str | None, port: int, log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """`gateway serve` with WORKERS workers until the block ends, once its workers are up."""
    command = gateway_command(config, data, port, WORKERS, storage)
    with log.open("wb") as err, running("gateway", command, port, err) as server:
        deadline = time.monotonic() + 30
        while len(workers_of(server.process.pid)) < WORKERS and time.monotonic() < deadline:
            time.sleep(0.1)
        yield server.process


async def missing_from_log(
    storage_url: str | None,
    data: Path,
    exchanges: list[tuple[str, list[tuple[str, int]]]],
    acked: list[str],
) -> list[str]:
    """Acknowledged exchanges and messages the log does not show as acknowledged; [] is good."""
    from gateway.store import open_storage

    storage = open_storage(storage_url, data)
    await storage.open()
    try:
        size = await storage.log_size()
        disclosed: dict[int, tuple[str | None, str | None]] = {}
        delivered: set[str] = set()
        for start in range(0, size, 5000):
            for row in await storage.log_rows(start, min(size, start + 5000)):
                entry = row.entry
                if entry.decision == "disclosed":
                    disclosed[row.index] = (entry.exchange_id, entry.disclosure_id)
                elif entry.decision == "delivered":
                    delivered.add(str(entry.details.get("message_id")))
    finally:
        await storage.close()
    missing = [
        f"exchange {exchange_id} disclosure {disclosure_id} at index {index}"
        for exchange_id, disclosures in exchanges
        for disclosure_id, index in disclosures
        if disclosed.get(index) != (exchange_id, disclosure_id)
    ]
    missing += [f"delivery receipt of message {m}" for m in acked if m not in delivered]
    return missing


def verify_log(config: Path, data: Path, storage: str | None) -> tuple[bool, str]:
    """`gateway log verify` on the stopped gateway's log: (passed, what it printed)."""
    command = [GATEWAY, "log", "verify", "--config", str(config), "--data", str(data)]
    if storage is not None:
        command += ["--storage", storage]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)  # noqa: S603 - our own console script
    return done.returncode == 0, (done.stdout + done.stderr).strip()


@contextlib.contextmanager
def fresh_storage(backend: str) -> Iterator[str | None]:
    """None for SQLite under the data folder; else a new PostgreSQL schema, dropped afterwards."""
    if backend == "sqlite":
        yield None
        return
    import asyncpg

    schema = f"soak_{secrets.token_hex(6)}"
    try:
        yield f"{POSTGRES_DSN}{'&' if '?' in POSTGRES_DSN else '?'}schema={schema}"
    finally:

        async def drop() -> None:
            conn = await asyncpg.connect(POSTGRES_DSN)
            try:
                await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            finally:
                await conn.close()

        asyncio.run(drop())


def _merge(tallies: list[Mapping[str, Any]]) -> dict[str, Any]:
    statuses: dict[str, Counter[int]] = defaultdict(Counter)
    latencies: dict[str, list[float]] = defaultdict(list)
    broken: Counter[str] = Counter()
    merged: dict[str, Any] = {"unexpected": [], "exchanges": [], "acked": []}
    for tally in tallies:
        for kind, counts in tally["statuses"].items():
            statuses[kind].update({int(s): n for s, n in counts.items()})
        for kind, values in tally["latencies_ms"].items():
            latencies[kind].extend(values)
        broken.update(tally["broken"])
        for key in ("unexpected", "exchanges", "acked"):
            merged[key] += tally[key]
    merged.update(statuses=statuses, latencies_ms=latencies, broken=broken)
    return merged


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 2)


def _sample(workers: list[int], t: float, phase: str) -> dict[str, Any]:
    memory = {p: memory_kib(p) for p in workers}
    return {
        "t": round(t, 1),
        "phase": phase,
        "rss_kib": {p: m["VmRSS"] for p, m in memory.items()},
        "anon_kib": {p: m.get("RssAnon") for p, m in memory.items()},
        "file_kib": {p: m.get("RssFile") for p, m in memory.items()},
    }


def memory_growth(samples: list[dict[str, Any]], workers: list[int]) -> dict[str, dict[str, Any]]:
    """Each worker's RSS after the warm-up and at the end, and the growth between them.

    Each of the two is the median of the samples in a window of MEMORY_WINDOW_S (the first
    samples from the end of the warm-up on, the last ones), not one sample: a worker's RSS
    moves by a few MiB from second to second as freed heap pages are handed back and reused,
    and one sample would measure where in that swing it was taken.
    """
    warm_t = next(s["t"] for s in samples if s["phase"] == "warm")
    end_t = samples[-1]["t"]
    warm = [s for s in samples if warm_t <= s["t"] <= warm_t + MEMORY_WINDOW_S]
    end = [s for s in samples if s["t"] >= end_t - MEMORY_WINDOW_S]

    def median(window: list[dict[str, Any]], key: str, pid: int) -> int:
        return int(statistics.median(s[key][pid] for s in window))

    out: dict[str, dict[str, Any]] = {}
    for pid in workers:
        warm_kib, end_kib = median(warm, "rss_kib", pid), median(end, "rss_kib", pid)
        out[str(pid)] = {
            "start_kib": samples[0]["rss_kib"][pid],
            "warm_kib": warm_kib,
            "end_kib": end_kib,
            "growth": round(end_kib / warm_kib - 1, 4),
            "anon_warm_kib": median(warm, "anon_kib", pid),
            "anon_end_kib": median(end, "anon_kib", pid),
            "window_s": MEMORY_WINDOW_S,
        }
    return out


def _load_and_sample(
    url: str, audience: str, workers: list[int], duration_s: float, load_processes: int, work: Path
) -> tuple[dict[str, Any], list[dict[str, Any]], float, list[int]]:
    """Run the load processes; sample the workers' memory at start, warm-up, every few s, end."""
    samples = [_sample(workers, 0.0, "start")]
    context = multiprocessing.get_context("spawn")
    outs = [work / f"load-{n}.json" for n in range(load_processes)]
    shares = [
        CONNECTIONS // load_processes + (n < CONNECTIONS % load_processes)
        for n in range(load_processes)
    ]
    loads = [
        context.Process(
            target=_load_process, args=(url, audience, share, duration_s, 1000 + n, str(out))
        )
        for n, (share, out) in enumerate(zip(shares, outs, strict=True))
    ]
    began = time.monotonic()
    for load in loads:
        load.start()
    warm_at, end_at = began + warmup_s(duration_s), began + duration_s
    warmed = False
    while True:
        now = time.monotonic()
        if not warmed and now >= warm_at:
            phase, warmed = "warm", True
        elif now >= end_at:
            phase = "end"
        else:
            phase = "load"
        samples.append(_sample(workers, now - began, phase))
        if phase == "end":
            break
        next_at = end_at if warmed else warm_at
        time.sleep(max(0.0, min(SAMPLE_EVERY_S, next_at - time.monotonic())))
    for load in loads:
        load.join(timeout=duration_s + 120)
        if load.exitcode is None:
            load.kill()
            load.join()
    elapsed = time.monotonic() - began
    failed = [n for n, load in enumerate(loads) if load.exitcode != 0]
    tally = _merge([json.loads(out.read_text()) for n, out in enumerate(outs) if n not in failed])
    return tally, samples, elapsed, failed


def run_soak(backend: str, duration_s: float, load_processes: int, say: Any = print) -> bool:
    """One soak on one back end; writes bench/results/soak-<backend>.json; True when it passed."""
    machine = describe_machine()
    work = Path(tempfile.mkdtemp(prefix=f"soak-{backend}-"))
    config = soak_config(work)
    audience = load_settings(config).id
    data = work / "data"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    say(
        f"soak on {backend}: {duration_s:g} s, {CONNECTIONS} connections, {WORKERS} workers; "
        f"memory baseline after a {warmup_s(duration_s):g} s warm-up"
    )
    say(
        "  rate limits raised to 1 000 000/s for every partner kind and actor "
        "(copied config; the limiter still runs on every request)"
    )
    with fresh_storage(backend) as storage:
        with serving(config, data, storage, port, work / "gateway.log") as gateway:
            workers = workers_of(gateway.pid)
            asyncio.run(_record_consents(url, audience))
            tally, samples, elapsed, failed_loads = _load_and_sample(
                url, audience, workers, duration_s, load_processes, work
            )
        # The gateway has stopped: what it acknowledged must be in the log it left behind.
        missing = asyncio.run(missing_from_log(storage, data, tally["exchanges"], tally["acked"]))
        verified, verify_output = verify_log(config, data, storage)
    memory = memory_growth(samples, workers)
    statuses: dict[str, Counter[int]] = tally["statuses"]
    served = {kind: sum(c.values()) for kind, c in statuses.items()}
    total = sum(served.values())
    five_xx = sum(n for c in statuses.values() for s, n in c.items() if s >= 500)
    too_many = sum(c[429] for c in statuses.values())
    broken = sum(tally["broken"].values())
    grew = [pid for pid, m in memory.items() if m["growth"] >= GROWTH_LIMIT]
    problems = []
    if failed_loads:
        problems.append(f"load processes {failed_loads} failed")
    if five_xx:
        problems.append(f"{five_xx} answers were 5xx")
    if tally["unexpected"] or broken:
        problems.append(f"unexpected answers or broken connections: {tally['unexpected'][:10]}")
    if grew:
        problems.append(f"worker memory grew by {GROWTH_LIMIT:.0%} or more: {grew}")
    if missing:
        problems.append(f"{len(missing)} acknowledged items missing from the log: {missing[:5]}")
    if not verified:
        problems.append(f"gateway log verify failed: {verify_output}")

    say(f"  {'kind':13s} {'served':>9s} {'req/s':>8s} {'p50 ms':>8s} {'p99 ms':>8s}  statuses")
    for kind in [*MIX, "ack"]:
        latencies = tally["latencies_ms"].get(kind, [])
        codes = ", ".join(f"{s}: {n}" for s, n in sorted(statuses.get(kind, Counter()).items()))
        say(
            f"  {kind:13s} {served.get(kind, 0):9d} {served.get(kind, 0) / elapsed:8.1f} "
            f"{_percentile(latencies, 0.5):8.2f} {_percentile(latencies, 0.99):8.2f}  {codes}"
        )
    say(f"  {'all':13s} {total:9d} {total / elapsed:8.1f}")
    say(f"  5xx: {five_xx}   429: {too_many}   broken connections: {broken}")
    say(f"  {'worker':>8s} {'start MiB':>10s} {'warm MiB':>9s} {'end MiB':>8s} {'growth':>7s}")
    for pid, m in memory.items():
        say(
            f"  {pid:>8s} {m['start_kib'] / 1024:10.1f} {m['warm_kib'] / 1024:9.1f} "
            f"{m['end_kib'] / 1024:8.1f} {m['growth']:7.1%}"
        )
    acknowledged = sum(len(d) for _, d in tally["exchanges"])
    say(
        f"  acknowledged: {len(tally['exchanges'])} exchanges ({acknowledged} disclosures), "
        f"{len(tally['acked'])} inbox acks; missing from the log: {len(missing)}"
    )
    say(f"  gateway log verify: {'pass' if verified else 'FAIL'} ({verify_output})")
    say(f"  {'PASS' if not problems else 'FAIL: ' + '; '.join(problems)}")

    RESULTS.mkdir(parents=True, exist_ok=True)
    result = {
        "backend": backend,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": f"make soak BACKEND={backend} DURATION={duration_s:g}",
        "duration_s": round(elapsed, 1),
        "connections": CONNECTIONS,
        "workers": WORKERS,
        "load_processes": load_processes,
        "mix": MIX,
        "rate_limits": f"raised: every kind and actor {RAISED_RATE}",
        "machine": {**machine, "load_average_after": load_average()},
        "served": served,
        "total": total,
        "requests_per_s": round(total / elapsed, 1),
        "statuses": {k: {str(s): n for s, n in c.items()} for k, c in statuses.items()},
        "latency_ms": {
            kind: {"p50": _percentile(v, 0.5), "p99": _percentile(v, 0.99)}
            for kind, v in tally["latencies_ms"].items()
        },
        "five_xx": five_xx,
        "too_many_requests": too_many,
        "broken_connections": broken,
        "memory": memory,
        "warmup_s": round(warmup_s(duration_s), 1),
        "memory_samples": [
            {
                "t": s["t"],
                "phase": s["phase"],
                **{
                    k: {str(p): v for p, v in s[k].items()}
                    for k in ("rss_kib", "anon_kib", "file_kib")
                },
            }
            for s in samples
        ],
        "acknowledged_exchanges": len(tally["exchanges"]),
        "acknowledged_disclosures": acknowledged,
        "acknowledged_messages": len(tally["acked"]),
        "missing_from_log": len(missing),
        "log_verify": {"passed": verified, "output": verify_output},
        "passed": not problems,
        "problems": problems,
    }
    (RESULTS / f"soak-{backend}.json").write_text(json.dumps(result, indent=2) + "\n")
    if problems:
        say(f"  kept for inspection: {work} (gateway.log holds the gateway's log)")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return not problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--duration", type=float, default=600.0, help="seconds per back end")
    parser.add_argument(
        "--backend", choices=["sqlite", "postgresql", "both"], default="both", help="storage"
    )
    parser.add_argument(
        "--load-processes", type=int, default=1, help="processes sharing the 64 connections"
    )
    args = parser.parse_args(argv)
    if args.duration <= 0 or not 1 <= args.load_processes <= CONNECTIONS:
        parser.error("--duration must be positive and --load-processes between 1 and 64")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results = [run_soak(b, args.duration, args.load_processes) for b in backends]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
