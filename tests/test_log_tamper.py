"""Tampering with the stored log is found by `gateway log verify`, at the first bad index.

One log of a few dozen entries is built through the real API and signed at several sizes.
Each case copies its data folder, changes the SQLite file directly the way an insider with
database access could, and runs `gateway log verify --data COPY` as a separate process. The
verifications run side by side so the whole module stays quick.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from gateway.client.http import GatewayClientError, PartnerClient
from gateway.runtime import DEFAULT_CONFIG, build_gateway
from gateway.web import create_app
from tests.conftest import BSN_CHILD, BSN_OTHER, ROLES, example, private_jwks
from tests.helpers import seed_referral

# The installed console script, as operators run it.
GATEWAY = str(Path(sys.executable).with_name("gateway"))
BATCH = 9  # entries per signed checkpoint: 7 disclosures, 1 refusal, 1 delivery receipt
BATCHES = 4
LOG_SIZE = BATCH * BATCHES
SIGNED_SIZES = [0, *(BATCH * n for n in range(1, BATCHES + 1))]


# --- the pristine log ---------------------------------------------------------------------------


@pytest.fixture
def backend() -> str:
    """These tests read the SQLite file itself."""
    return "sqlite"


def _client(url: str, partner: str, audience: str) -> PartnerClient:
    return PartnerClient(
        url,
        partner_id=partner,
        private_jwks=private_jwks(partner),
        actor_id=f"{partner}-actor-1",
        actor_role=ROLES[partner],
        audience=audience,
    )


async def _build_log(data: Path) -> None:
    """Exchanges, refusals and receipts through the HTTP API, signed after every batch."""
    gw = build_gateway(DEFAULT_CONFIG, data)
    server = TestServer(create_app(gw, background=False), host="127.0.0.1")
    await server.start_server()
    url = str(server.make_url("")).rstrip("/")
    # The provider's relation to the children (issue 19), without entries the log would hold.
    await seed_referral(gw, "zorg-noord", BSN_CHILD, BSN_OTHER)
    provider = _client(url, "zorg-noord", gw.settings.id)
    team = _client(url, "swt-denhelder", gw.settings.id)
    school = _client(url, "school-de-es", gw.settings.id)
    try:
        for batch in range(BATCHES):
            for n in range(7):
                bsn = BSN_CHILD if (batch + n) % 2 else BSN_OTHER
                await provider.send(
                    "evaluation-feedback", "swt-denhelder", bsn, example("evaluation-feedback")
                )
            with pytest.raises(GatewayClientError):
                await school.send(
                    "evaluation-feedback",
                    "swt-denhelder",
                    BSN_CHILD,
                    example("evaluation-feedback"),
                )
            await team.ack((await team.inbox(limit=1))["messages"][0]["id"])
            await gw.sequencer().integrate()
    finally:
        for client in (provider, team, school):
            await client.close()
        await server.close()


def _database(data: Path) -> contextlib.closing[sqlite3.Connection]:
    return contextlib.closing(sqlite3.connect(data / "gateway.sqlite3", isolation_level=None))


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("pristine") / "data"
    asyncio.run(_build_log(data))
    with _database(data) as db:
        # Fold the WAL into the main file so a plain copy of the folder is the whole database.
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        assert db.execute("SELECT COUNT(*), MAX(idx) FROM log_entries").fetchone() == (
            LOG_SIZE,
            LOG_SIZE - 1,
        )
        sizes = [r[0] for r in db.execute("SELECT size FROM checkpoints ORDER BY size")]
        assert sizes == SIGNED_SIZES
    return data


# --- the tamperings -----------------------------------------------------------------------------


def _leaf(db: sqlite3.Connection, index: int) -> bytes:
    return bytes(db.execute("SELECT leaf FROM log_entries WHERE idx = ?", (index,)).fetchone()[0])


def _forged(leaf: bytes) -> bytes:
    """The same entry, canonically encoded, but disclosed to someone else: a plausible lie."""
    entry = json.loads(leaf)
    entry["recipient"] = "school-de-es"
    return json.dumps(entry, sort_keys=True, separators=(",", ":")).encode("ascii")


EDITED = 13
DELETED = 20
SWAPPED = (5, 22)
INSERTED_AT = 17
EDITED_WITH_NODE = 14
ALTERED_CHECKPOINT = 18
TRUNCATED_TO = 30


def edit_leaf(db: sqlite3.Connection) -> None:
    db.execute(
        "UPDATE log_entries SET leaf = ? WHERE idx = ?", (_forged(_leaf(db, EDITED)), EDITED)
    )


def delete_row(db: sqlite3.Connection) -> None:
    db.execute("DELETE FROM log_entries WHERE idx = ?", (DELETED,))


def swap_leaves(db: sqlite3.Connection) -> None:
    first, second = SWAPPED
    a, b = _leaf(db, first), _leaf(db, second)
    db.execute("UPDATE log_entries SET leaf = ? WHERE idx = ?", (b, first))
    db.execute("UPDATE log_entries SET leaf = ? WHERE idx = ?", (a, second))


def insert_row(db: sqlite3.Connection) -> None:
    # Renumber from the top down so no two rows ever share an index on the way.
    for (index,) in db.execute(
        "SELECT idx FROM log_entries WHERE idx >= ? ORDER BY idx DESC", (INSERTED_AT,)
    ).fetchall():
        db.execute("UPDATE log_entries SET idx = ? WHERE idx = ?", (index + 1, index))
    leaf = _forged(_leaf(db, INSERTED_AT + 1))
    db.execute(
        "INSERT INTO log_entries (idx, leaf, time_ms, decision) "
        "SELECT ?, ?, time_ms, decision FROM log_entries WHERE idx = ?",
        (INSERTED_AT, leaf, INSERTED_AT + 1),
    )


def edit_leaf_and_its_node(db: sqlite3.Connection) -> None:
    leaf = _forged(_leaf(db, EDITED_WITH_NODE))
    db.execute("UPDATE log_entries SET leaf = ? WHERE idx = ?", (leaf, EDITED_WITH_NODE))
    changed = db.execute(
        "UPDATE tree_nodes SET hash = ? WHERE level = 0 AND idx = ?",
        (hashlib.sha256(b"\x00" + leaf).digest(), EDITED_WITH_NODE),
    )
    assert changed.rowcount == 1


def alter_checkpoint_signature(db: sqlite3.Connection) -> None:
    (note,) = db.execute(
        "SELECT note FROM checkpoints WHERE size = ?", (ALTERED_CHECKPOINT,)
    ).fetchone()
    body, signature_line = note.rstrip("\n").rsplit("\n", 1)
    prefix, encoded = signature_line.rsplit(" ", 1)
    blob = bytearray(base64.b64decode(encoded))
    blob[20] ^= 0x01  # inside the Ed25519 signature, after the 4-byte key id
    forged = f"{body}\n{prefix} {base64.b64encode(bytes(blob)).decode('ascii')}\n"
    db.execute("UPDATE checkpoints SET note = ? WHERE size = ?", (forged, ALTERED_CHECKPOINT))


def truncate_tail(db: sqlite3.Connection) -> None:
    db.execute("DELETE FROM log_entries WHERE idx >= ?", (TRUNCATED_TO,))


def leave_untouched(db: sqlite3.Connection) -> None:
    assert db.execute("SELECT COUNT(*) FROM log_entries").fetchone() == (LOG_SIZE,)


TAMPERINGS: dict[str, Callable[[sqlite3.Connection], None]] = {
    "untouched": leave_untouched,
    "edited": edit_leaf,
    "deleted": delete_row,
    "swapped": swap_leaves,
    "inserted": insert_row,
    "edited_with_node": edit_leaf_and_its_node,
    "checkpoint_signature": alter_checkpoint_signature,
    "truncated": truncate_tail,
}


@dataclass(frozen=True)
class Verdict:
    """What `gateway log verify` answered for one copy."""

    code: int
    output: str


def _verify(data: Path) -> Verdict:
    done = subprocess.run(
        [GATEWAY, "log", "verify", "--data", str(data)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return Verdict(done.returncode, done.stdout + done.stderr)


@pytest.fixture(scope="module")
def verdicts(pristine: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Verdict]:
    copies: dict[str, Path] = {}
    for name, tamper in TAMPERINGS.items():
        copy = tmp_path_factory.mktemp(name) / "data"
        shutil.copytree(pristine, copy)
        with _database(copy) as db:
            db.execute("BEGIN")
            tamper(db)
            db.execute("COMMIT")
        copies[name] = copy
    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(copies, pool.map(_verify, copies.values()), strict=True))


def failed_at(verdict: Verdict) -> int:
    """The index `gateway log verify` names as the first bad one, after a non-zero exit."""
    assert verdict.code != 0, verdict.output
    match = re.search(r"FAILED at index (\d+)\b", verdict.output)
    assert match is not None, verdict.output
    return int(match.group(1))


# --- the checks ---------------------------------------------------------------------------------


def test_an_untouched_copy_of_the_log_verifies(verdicts: dict[str, Verdict]) -> None:
    verdict = verdicts["untouched"]
    assert verdict.code == 0, verdict.output
    assert f"{LOG_SIZE} entries" in verdict.output
    assert f"signed up to size {LOG_SIZE}" in verdict.output


def test_an_edited_leaf_is_reported_at_its_index(verdicts: dict[str, Verdict]) -> None:
    verdict = verdicts["edited"]
    assert failed_at(verdict) == EDITED


def test_a_deleted_row_is_reported_at_its_index(verdicts: dict[str, Verdict]) -> None:
    verdict = verdicts["deleted"]
    assert failed_at(verdict) == DELETED


def test_two_swapped_leaves_are_reported_at_the_first_of_them(verdicts: dict[str, Verdict]) -> None:
    verdict = verdicts["swapped"]
    assert failed_at(verdict) == SWAPPED[0]


def test_a_row_inserted_in_the_middle_is_reported_where_it_was_inserted(
    verdicts: dict[str, Verdict],
) -> None:
    verdict = verdicts["inserted"]
    assert failed_at(verdict) == INSERTED_AT


def test_a_leaf_edited_together_with_its_stored_hash_is_caught_by_the_signed_root(
    verdicts: dict[str, Verdict],
) -> None:
    verdict = verdicts["edited_with_node"]
    first = failed_at(verdict)
    match = re.search(r"\[(\d+), (\d+)\)", verdict.output)
    assert match is not None, verdict.output
    low, high = int(match.group(1)), int(match.group(2))
    assert low == first
    assert low <= EDITED_WITH_NODE < high
    # The range is the stretch between two signed checkpoints, not the whole log.
    assert (low, high) == (BATCH, 2 * BATCH)


def test_a_checkpoint_with_an_altered_signature_is_reported_at_its_size(
    verdicts: dict[str, Verdict],
) -> None:
    verdict = verdicts["checkpoint_signature"]
    assert failed_at(verdict) == ALTERED_CHECKPOINT
    assert "checkpoint" in verdict.output


def test_a_log_cut_short_below_its_signed_size_is_reported_where_it_ends(
    verdicts: dict[str, Verdict],
) -> None:
    verdict = verdicts["truncated"]
    assert failed_at(verdict) == TRUNCATED_TO
