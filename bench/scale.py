"""`make bench-scale`: what an exchange, an audit search, a proof and `log verify` cost as the
consent registry and the log grow.

- Consents: two gateways, one with 1 thousand and one with 1 million consent records (quick:
  100 thousand), take turns deciding and recording the same consent-based exchange (a closure
  notice from the social team to a school, on the consent of the person it is about).
- Log: logs of 10 thousand, 1 million and 10 million entries (quick: 10 and 100 thousand),
  generated directly in storage (bench.datagen), are searched by subject (first page of 100),
  by partner (a partner in every entry) and by purpose and decision (a purpose in no entry),
  asked for inclusion proofs the way the audit API builds them, and verified end to end with
  `verify_log`, the function behind `gateway log verify`.

    python -m bench.scale [--quick]      # bench/results/scale.json (quick: scale-quick.json)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestServer

from bench.datagen import LogFill, fill_consents, fill_log, sample_bsns
from bench.machine import describe_machine, load_average
from gateway.client.http import PartnerClient
from gateway.container import Gateway
from gateway.log.merkle import inclusion_proof_nodes, resolve_proof, verify_inclusion
from gateway.log.verify import verify_log
from gateway.logsetup import configure_logging
from gateway.policy import parse_exchange_request
from gateway.policy.decision import Caller
from gateway.runtime import build_gateway
from gateway.service.exchanges import execute_exchange
from gateway.store.base import LogFilter
from gateway.store.links import find_pseudonym
from gateway.subject import Subject
from gateway.web import create_app

__all__ = ["main", "measure_consents", "measure_log"]

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / "config"
RESULTS = REPO / "bench" / "results"
TEAM, TEAM_ROLE, SCHOOL = "swt-denhelder", "procesregisseur", "school-de-es"
CONSENTED = 20  # subjects with a real consent recorded through the API; exchanges rotate over them
CONSENT_RATIO_TARGET = 1.2
SEARCH_TARGET_MS, PROOF_TARGET_MS, VERIFY_TARGET_PER_S = 50.0, 5.0, 200_000


def _closure_notice() -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(
        (REPO / "schemas" / "examples" / "closure-notice.json").read_text()
    )
    return payload


def _consent_body(bsn: str) -> dict[str, Any]:
    return {
        "subject": {"bsn": bsn, "birth_date": "1990-01-01"},
        "given_by": [{"role": "subject", "name": "Bench Persoon"}],
        "purposes": ["closure-notice"],
        "to": [SCHOOL],
        "evidence": {"method": "written", "reference": "bench-dossier-1"},
    }


async def _record_consents(gw: Gateway, bsns: Sequence[str]) -> list[str]:
    """Record one consent per BSN through the real API; return their consent ids."""
    server = TestServer(create_app(gw, background=False), host="127.0.0.1")
    await server.start_server()
    keys = json.loads((CONFIG / "demo" / f"{TEAM}.private.jwks.json").read_text())
    client = PartnerClient(
        str(server.make_url("")).rstrip("/"),
        partner_id=TEAM,
        private_jwks=keys,
        actor_id="bench-procesregisseur",
        actor_role=TEAM_ROLE,
        audience=gw.settings.id,
    )
    try:
        return [(await client.record_consent(_consent_body(b)))["consent_id"] for b in bsns]
    finally:
        await client.close()
        await server.close()


def _registry(folder: Path, size: int, bsns: Sequence[str], template_bsn: str) -> Path:
    """A data folder whose consent registry holds `size` records, `bsns` among them."""
    gw = build_gateway(CONFIG, folder)
    ids = asyncio.run(_record_consents(gw, [*bsns, template_bsn]))
    fill_consents(folder / "gateway.sqlite3", template_id=ids[-1], count=size - len(ids))
    return folder


async def _exchange_costs(
    folders: dict[int, Path], bsns: Sequence[str], rounds: int
) -> dict[int, dict[str, float]]:
    """Take turns between the registries: decision alone, and decision with the durable write."""
    gateways = {size: build_gateway(CONFIG, folder) for size, folder in folders.items()}
    for gw in gateways.values():
        await gw.storage.open()
    timings: dict[int, dict[str, list[float]]] = {
        s: {"decide": [], "exchange": []} for s in folders
    }
    notice = _closure_notice()
    try:
        for n in range(rounds + 10):  # the first ten warm caches and are not counted
            bsn = bsns[n % len(bsns)]
            body = {"purpose": "closure-notice", "to": [SCHOOL], "subject": {"bsn": bsn}}
            for size, gw in gateways.items():
                partner = gw.partners.get(TEAM)
                assert partner is not None
                caller = Caller(partner, "bench-procesregisseur", TEAM_ROLE)
                started = time.perf_counter()
                pseudonym = await find_pseudonym(gw.storage, gw.pseudonymiser, Subject("bsn", bsn))
                consents = await gw.storage.consents_for_subject(pseudonym or "")
                looked_up = time.perf_counter()
                parsed = parse_exchange_request({**body, "payload": notice}, payload_required=True)
                answer = await execute_exchange(gw, caller, parsed)
                done = time.perf_counter()
                if answer["consent_id"] is None or len(consents) != 1:
                    raise RuntimeError("the measured exchange did not go through on consent")
                if n >= 10:
                    timings[size]["decide"].append((looked_up - started) * 1000)
                    timings[size]["exchange"].append((done - looked_up) * 1000)
    finally:
        for gw in gateways.values():
            await gw.storage.close()
    return {
        size: {
            "consent_lookup_ms_p50": round(statistics.median(t["decide"]), 3),
            "exchange_ms_p50": round(statistics.median(t["exchange"]), 3),
            "exchange_ms_mean": round(statistics.fmean(t["exchange"]), 3),
        }
        for size, t in timings.items()
    }


def measure_consents(
    work: Path, sizes: Sequence[int], rounds: int, say: Callable[[str], None]
) -> dict[str, Any]:
    """Per-exchange cost with small and large consent registries, and their ratio."""
    bsns = sample_bsns(CONSENTED + 1)
    folders = {}
    for size in sizes:
        started = time.monotonic()
        folders[size] = _registry(work / f"consents-{size}", size, bsns[:-1], bsns[-1])
        say(f"  consent registry of {size:,} records made in {time.monotonic() - started:.0f} s")
    costs = asyncio.run(_exchange_costs(folders, bsns[:-1], rounds))
    small, large = min(sizes), max(sizes)
    ratio = costs[large]["exchange_ms_p50"] / costs[small]["exchange_ms_p50"]
    for size in sizes:
        say(
            f"  {size:>10,} consents: consent lookup {costs[size]['consent_lookup_ms_p50']:.3f} ms, "
            f"exchange (decide + durable write) {costs[size]['exchange_ms_p50']:.2f} ms (median)"
        )
    return {
        "request": f"POST /v1/exchanges closure-notice {TEAM} -> {SCHOOL}, on consent",
        "rounds": rounds,
        "by_consents": {str(size): costs[size] for size in sizes},
        "ratio": round(ratio, 3),
        "target": {
            "name": f"exchange cost with {large:,} consents vs {small:,}",
            "value": round(ratio, 3),
            "target": f"<= {CONSENT_RATIO_TARGET}",
            "met": ratio <= CONSENT_RATIO_TARGET,
        },
    }


async def _median_ms(action: Callable[[], Awaitable[object]], times: int) -> float:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        await action()
        samples.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(samples), 3)


async def _log_costs(gw: Gateway, fill: LogFill, rng: random.Random) -> dict[str, float]:
    storage = gw.storage
    await storage.open()
    try:
        probes = iter(range(1, 1_000_000))

        async def search() -> None:
            subject = fill.subject_of(next(probes))
            rows = await storage.search_log(LogFilter(subject=subject), after=None, limit=100)
            if not rows or any(r.entry.subject != subject for r in rows[:1]):
                raise RuntimeError("the subject search found nothing for a subject in the log")

        async def search_partner() -> None:
            # Every generated entry is this partner's: the old plan sorted the whole log.
            flt = LogFilter(partner="zorg-noord")
            if len(await storage.search_log(flt, after=None, limit=100)) != min(100, fill.size):
                raise RuntimeError("the partner search missed entries")

        async def search_purpose_decision() -> None:
            # A purpose with no entries beside a decision every entry has: the old plan walked
            # the decision's whole index to find nothing.
            flt = LogFilter(purpose="closure-notice", decision="disclosed")
            if await storage.search_log(flt, after=None, limit=100):
                raise RuntimeError("the purpose and decision search found what is not there")

        latest = await storage.latest_checkpoint()
        assert latest is not None

        async def proof() -> None:
            # What GET /v1/audit/proof/inclusion does: the checkpoint, the nodes, the leaf.
            size = (await storage.latest_checkpoint() or latest).size
            index = rng.randrange(size)
            elements = inclusion_proof_nodes(index, size)
            found = await storage.tree_nodes([k for e in elements for k in e])
            hashes = resolve_proof(elements, lambda level, i: found[(level, i)])
            leaf = (await storage.tree_nodes([(0, index)]))[(0, index)]
            verify_inclusion(leaf, index, size, hashes, latest.root_hash)

        search_ms = await _median_ms(search, 30)
        partner_ms = await _median_ms(search_partner, 10)
        purpose_decision_ms = await _median_ms(search_purpose_decision, 10)
        proof_ms = await _median_ms(proof, 50)
        started = time.perf_counter()
        report = await verify_log(storage, list(gw.log_verifiers), gw.settings.log_origin)
        seconds = time.perf_counter() - started
    finally:
        await storage.close()
    return {
        "generated_in_s": round(fill.seconds, 1),
        "search_first_page_ms_p50": search_ms,
        "partner_search_first_page_ms_p50": partner_ms,
        "purpose_decision_search_ms_p50": purpose_decision_ms,
        "inclusion_proof_ms_p50": proof_ms,
        "verify_s": round(seconds, 2),
        "verify_entries_per_s": round(report.entries / seconds),
        "checkpoints": report.checkpoints,
    }


def measure_log(work: Path, sizes: Sequence[int], say: Callable[[str], None]) -> dict[str, Any]:
    """Audit search, inclusion proof and log verification against the log's size."""
    rng = random.Random(9162)  # noqa: S311 - picks leaf indices to prove, not secrets
    by_size: dict[str, dict[str, float]] = {}
    for size in sizes:
        folder = work / f"log-{size}"
        gw = build_gateway(CONFIG, folder)
        fill = fill_log(
            folder / "gateway.sqlite3",
            count=size,
            signer=gw.log_signer,
            origin=gw.settings.log_origin,
            progress=_progress(size, say),
        )
        costs = asyncio.run(_log_costs(gw, fill, rng))
        by_size[str(size)] = costs
        say(
            f"  {size:>10,} entries (made in {costs['generated_in_s']:.0f} s): subject search "
            f"{costs['search_first_page_ms_p50']:.2f} ms, partner search "
            f"{costs['partner_search_first_page_ms_p50']:.2f} ms, purpose and decision "
            f"{costs['purpose_decision_search_ms_p50']:.2f} ms, inclusion proof "
            f"{costs['inclusion_proof_ms_p50']:.2f} ms, log verify "
            f"{costs['verify_entries_per_s']:,.0f} entries/s"
        )
        for leftover in sorted(folder.glob("gateway.sqlite3*")):
            leftover.unlink()  # a 10-million-entry log is many gigabytes
    largest = by_size[str(max(sizes))]
    at = f"at {max(sizes):,} entries"
    return {
        "by_entries": by_size,
        "targets": {
            "search_first_page_ms": _target(
                f"subject search, first page, {at}",
                largest["search_first_page_ms_p50"],
                "<=",
                SEARCH_TARGET_MS,
            ),
            "inclusion_proof_ms": _target(
                f"inclusion proof {at}", largest["inclusion_proof_ms_p50"], "<=", PROOF_TARGET_MS
            ),
            "verify_entries_per_s": _target(
                f"log verify throughput {at}",
                largest["verify_entries_per_s"],
                ">=",
                VERIFY_TARGET_PER_S,
            ),
        },
    }


def _progress(total: int, say: Callable[[str], None]) -> Callable[[int], None]:
    reported = [0]

    def report(done: int) -> None:
        if done // 1_000_000 > reported[0]:
            reported[0] = done // 1_000_000
            say(f"    {done:,} / {total:,} entries")

    return report


def _target(name: str, value: float, relation: str, bound: float) -> dict[str, Any]:
    met = value <= bound if relation == "<=" else value >= bound
    return {"name": name, "value": value, "target": f"{relation} {bound:g}", "met": met}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, about a minute")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--work", type=Path, default=None, help="where to build the data (default: a temp folder)"
    )
    args = parser.parse_args(argv)
    configure_logging(
        json=True, level=logging.WARNING
    )  # one info line per exchange would drown the figures
    consent_sizes = (1_000, 100_000) if args.quick else (1_000, 1_000_000)
    log_sizes = (10_000, 100_000) if args.quick else (10_000, 1_000_000, 10_000_000)
    rounds = 100 if args.quick else 300
    machine = describe_machine()
    say = _printer()
    say(f"bench-scale: load average before {machine['load_average_before']}")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="gateway-scale-", dir=args.work) as tmp:
        work = Path(tmp)
        say("consent registry size:")
        consents = measure_consents(work, consent_sizes, rounds, say)
        say("log size:")
        log = measure_log(work, log_sizes, say)
    machine["load_average_after"] = load_average()
    targets = {"consent_cost_ratio": consents["target"], **log["targets"]}
    report = {
        "machine": machine,
        "command": "make bench-scale" + (" QUICK=1" if args.quick else ""),
        "date": date.today().isoformat(),
        "consents": consents,
        "log": log,
        "targets": targets,
        "elapsed_s": round(time.monotonic() - started, 1),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    name = "scale-quick.json" if args.quick else "scale.json"
    (args.out / name).write_text(json.dumps(report, indent=2) + "\n")
    for target in targets.values():
        state = "met" if target["met"] else "NOT met"
        say(f"target {target['name']}: {target['value']} (want {target['target']}): {state}")
    say(f"load average after {machine['load_average_after']}; wrote {args.out / name}")
    return 0


def _printer() -> Callable[[str], None]:
    def say(line: str) -> None:
        print(line, flush=True)

    return say


if __name__ == "__main__":
    sys.exit(main())
