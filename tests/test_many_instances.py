"""Several real `gateway serve` processes on one PostgreSQL schema behave as one gateway.

Each instance is its own process with its own `--data` folder; all share the keys folder made by
`gateway keys init` (through GATEWAY_KEYS_DIR) and one `--storage` database and schema. Only the
libpq `application_name` differs per instance, so that `pg_stat_activity` names the process that
holds the sequencer's advisory lock. The log is checked the way an outside auditor would: leaves
from the API, the RFC 9162 root recomputed here, checkpoint signatures verified here with the
public half of the shared log-signing key.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import os
import re
import secrets
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg  # type: ignore[import-untyped]
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from gateway.client.assertion import make_client_assertion
from gateway.client.http import PartnerClient
from gateway.config import load_settings
from gateway.store.postgres import PostgresSequencerLock
from tests.conftest import BSN_CHILD, BSN_OTHER, REPO, ROLES, example, private_jwks
from tests.helpers import relate_client
from tests.storage_fixtures import POSTGRES_DSN, require_postgres

pytestmark = pytest.mark.slow

# The installed console script, as operators run it.
GATEWAY = str(Path(sys.executable).with_name("gateway"))
CONFIG = REPO / "config"
SETTINGS = load_settings(CONFIG)
START_TIMEOUT_S = 20
STOP_TIMEOUT_S = 15
COMMAND_TIMEOUT_S = 30
TAKEOVER_TIMEOUT_S = 10
TEST_TIMEOUT_S = 50
POLL_S = 0.05
PAGE = 50
SENDER = "zorg-noord"
RECIPIENT = "swt-denhelder"
OFFICER = "fg-denhelder"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


# --- an independent RFC 9162 and signed-note checker ---------------------------------------------


class ProofRejected(Exception):
    """A Merkle proof or a checkpoint signature does not prove what it was checked against."""


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def rfc_leaf_hash(leaf: bytes) -> bytes:
    """MTH of one entry: SHA-256(0x00 || entry)."""
    return _sha256(b"\x00" + leaf)


def _interior(left: bytes, right: bytes) -> bytes:
    return _sha256(b"\x01" + left + right)


def rfc_root(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) straight from the definition: split at the largest power of two below n."""
    n = len(leaf_hashes)
    if n == 0:
        return _sha256(b"")
    if n == 1:
        return leaf_hashes[0]
    k = 1 << ((n - 1).bit_length() - 1)
    return _interior(rfc_root(leaf_hashes[:k]), rfc_root(leaf_hashes[k:]))


def verify_inclusion(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """RFC 9162 section 2.1.3.2, step by step."""
    if any(len(h) != 32 for h in (leaf_hash, root, *proof)):
        raise ProofRejected("every hash is 32 bytes")
    if index >= size:
        raise ProofRejected("leaf index outside the tree")
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            raise ProofRejected("proof is longer than the path")
        if fn & 1 or fn == sn:
            r = _interior(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = _interior(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0 or r != root:
        raise ProofRejected("inclusion proof does not lead to the root")


def verify_checkpoint_signature(note: str, name: str, public_key: Ed25519PublicKey) -> None:
    """C2SP signed-note: a line `— name base64(key id || Ed25519 signature)` over the text."""
    body, separator, signatures = note.rpartition("\n\n")
    if not separator or not note.endswith("\n"):
        raise ProofRejected("a note is text, a blank line and signature lines")
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    key_id = _sha256(name.encode() + b"\n" + b"\x01" + raw)[:4]
    for line in signatures[:-1].split("\n"):
        match = re.fullmatch(r"\u2014 (\S+) ([A-Za-z0-9+/=]+)", line)
        if match is None:
            raise ProofRejected(f"not a signature line: {line!r}")
        blob = base64.b64decode(match.group(2), validate=True)
        if match.group(1) == name and blob[:4] == key_id:
            public_key.verify(blob[4:], (body + "\n").encode())
            return
    raise ProofRejected("no signature by the shared log-signing key")


# --- the instances -------------------------------------------------------------------------------


def application_name(instance: str) -> str:
    return f"gw-{instance}"


@dataclass
class Instance:
    """One `gateway serve` process, its URL and everything it printed."""

    name: str
    process: asyncio.subprocess.Process
    url: str = ""
    output: list[str] = field(default_factory=list)
    killed: bool = False

    @property
    def application_name(self) -> str:
        """What its database connections call themselves in `pg_stat_activity`."""
        return application_name(self.name)

    async def kill(self) -> None:
        """SIGKILL: no shutdown hook, no lock released by the process itself."""
        # Signal once only: a second kill() could reap the child before asyncio's watcher does.
        if not self.killed and self.process.returncode is None:
            self.killed = True
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
        await asyncio.wait_for(self.process.wait(), timeout=STOP_TIMEOUT_S)

    async def stop(self) -> int:
        """SIGTERM and wait for a clean shutdown; SIGKILL when it does not come in time."""
        if self.process.returncode is None and not self.killed:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            try:
                return await asyncio.wait_for(self.process.wait(), timeout=STOP_TIMEOUT_S)
            except TimeoutError:
                pass
        await self.kill()
        assert self.process.returncode is not None
        return self.process.returncode

    def tail(self) -> str:
        """The last lines it printed, to explain a failure."""
        return f"--- {self.application_name} ---\n" + "\n".join(self.output[-30:])


@dataclass
class Cluster:
    """Gateway processes sharing one keys folder and one PostgreSQL schema."""

    root: Path
    schema: str
    keys: Path
    instances: dict[str, Instance] = field(default_factory=dict)
    clients: list[PartnerClient] = field(default_factory=list)
    drains: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def storage(self) -> str:
        """The `--storage` URL every instance is given."""
        return f"{POSTGRES_DSN}{'&' if '?' in POSTGRES_DSN else '?'}schema={self.schema}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "GATEWAY_ENV"}
        env["GATEWAY_KEYS_DIR"] = str(self.keys)
        return env

    async def run(self, *args: str) -> tuple[int, str]:
        """A one-off `gateway ...` command with the cluster's environment."""
        process = await asyncio.create_subprocess_exec(
            GATEWAY,
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=self.root,
            env=self.env(),
        )
        try:
            out, _ = await asyncio.wait_for(process.communicate(), timeout=COMMAND_TIMEOUT_S)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise
        assert process.returncode is not None
        return process.returncode, out.decode("utf-8", "replace")

    async def start(self, name: str) -> Instance:
        """Start `gateway serve` as instance `name` and wait for its `listening on` line."""
        # The one database and schema; the name only tells the connections apart.
        storage = f"{self.storage}&application_name={application_name(name)}"
        process = await asyncio.create_subprocess_exec(
            GATEWAY,
            "serve",
            "--config",
            str(CONFIG),
            "--data",
            str(self.root / f"data-{name}"),
            "--port",
            "0",
            "--metrics-port",
            "0",
            "--storage",
            storage,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=self.root,
            env=self.env(),
        )
        instance = Instance(name, process)
        self.instances[name] = instance
        listening: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        async def drain() -> None:
            # Keep reading, so a chatty server never blocks on a full pipe.
            assert process.stdout is not None
            async for raw in process.stdout:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                instance.output.append(line)
                found = re.search(r"listening on (http://\S+)", line)
                if found and not listening.done():
                    listening.set_result(found.group(1))
            if not listening.done():
                listening.set_exception(RuntimeError(f"instance {name} exited:\n{instance.tail()}"))

        self.drains.append(asyncio.create_task(drain()))
        instance.url = await asyncio.wait_for(listening, timeout=START_TIMEOUT_S)
        return instance

    def client_at(self, instance: Instance, partner: str, actor: str = "actor-1") -> PartnerClient:
        """A demo partner's client that gets its tokens from `instance`; closed at teardown."""
        made = PartnerClient(
            instance.url,
            partner_id=partner,
            private_jwks=private_jwks(partner),
            actor_id=f"{partner}-{actor}",
            actor_role=ROLES[partner],
            audience=SETTINGS.id,
        )
        self.clients.append(made)
        return made

    async def sequencer(self) -> str | None:
        """The instance whose connection holds the sequencer's advisory lock, if any."""
        unsigned = PostgresSequencerLock(POSTGRES_DSN, schema=self.schema).key % 2**64
        conn = await asyncpg.connect(POSTGRES_DSN, timeout=5)
        try:
            holder = await conn.fetchval(
                "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a "
                "ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
                "AND l.objsubid = 1 AND l.classid::bigint = $1 AND l.objid::bigint = $2 "
                "AND l.database = (SELECT oid FROM pg_database "
                "WHERE datname = current_database())",
                unsigned >> 32,
                unsigned & 0xFFFFFFFF,
            )
        finally:
            await conn.close()
        return next((n for n, i in self.instances.items() if i.application_name == holder), None)

    def log_verifier_key(self) -> Ed25519PublicKey:
        """The public half of the shared log-signing key, read as an operator would."""
        raw = base64.b64decode((self.keys / "log-signing.key").read_bytes().strip())
        return Ed25519PrivateKey.from_private_bytes(raw).public_key()

    def tails(self) -> str:
        return "\n".join(i.tail() for i in self.instances.values())

    async def close(self) -> None:
        for made in self.clients:
            await made.close()
        for instance in self.instances.values():
            with contextlib.suppress(Exception):
                await instance.stop()
        for task in self.drains:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, timeout=5)


async def _drop_schema(schema: str) -> None:
    conn = await asyncpg.connect(POSTGRES_DSN, timeout=5)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    """Instances `a` and `b` on a fresh schema, migrated and keyed as docs/deploy.md says."""
    await require_postgres()
    made = Cluster(tmp_path, f"gw_multi_{secrets.token_hex(6)}", tmp_path / "keys")
    try:
        async with asyncio.timeout(COMMAND_TIMEOUT_S):
            (keys_code, keys_out), (migrate_code, migrate_out) = await asyncio.gather(
                made.run("keys", "init", "--keys-dir", str(made.keys)),
                made.run(
                    "migrate",
                    "--config",
                    str(CONFIG),
                    "--data",
                    str(tmp_path / "migrate"),
                    "--storage",
                    made.storage,
                ),
            )
            assert keys_code == 0, keys_out
            assert migrate_code == 0, migrate_out
            await asyncio.gather(made.start("a"), made.start("b"))
            # The provider's relation to the children its feedback is about (issue 19).
            team = made.client_at(made.instances["a"], "swt-denhelder", "relation")
            await relate_client(team, SENDER, BSN_CHILD, BSN_OTHER)
        yield made
    finally:
        try:
            await made.close()
            # Shown by pytest only when the test failed: what each instance said.
            print(made.tails())
        finally:
            await _drop_schema(made.schema)


# --- talking to the instances --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Acknowledged:
    """An exchange the gateway answered 201, and where."""

    disclosure_id: str
    log_index: int
    bsn: str
    at: str


@dataclass(frozen=True, slots=True)
class SignedHead:
    """A served checkpoint: the note as text, and its size and root."""

    note: str
    size: int
    root: bytes


async def call(
    caller: PartnerClient,
    at: Instance,
    method: str,
    path: str,
    *,
    json_body: Any = None,
    params: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """Status and body of one request at `at`, with `caller`'s token from wherever it came."""
    token = await caller.token()
    async with caller.session.request(
        method,
        at.url + path,
        json=json_body,
        params=params,
        headers={"Authorization": f"Bearer {token}"},
    ) as response:
        if response.content_type == "application/json":
            return response.status, await response.json()
        return response.status, await response.read()


async def send_feedback(sender: PartnerClient, at: Instance, n: int) -> Acknowledged:
    """One evaluation feedback to the social team; it must be answered 201."""
    bsn = BSN_CHILD if n % 2 else BSN_OTHER
    status, body = await call(
        sender,
        at,
        "POST",
        "/v1/exchanges",
        json_body={
            "purpose": "evaluation-feedback",
            "to": RECIPIENT,
            "subject": {"bsn": bsn},
            "payload": example("evaluation-feedback"),
        },
    )
    assert status == 201, body
    [disclosure] = body["disclosures"]
    return Acknowledged(disclosure["disclosure_id"], disclosure["log_index"], bsn, at.name)


async def whole_log(officer: PartnerClient, at: Instance, **filters: str) -> list[dict[str, Any]]:
    """Every entry the audit search gives, following `next` page by page."""
    entries: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        params = {**filters, "limit": str(PAGE)}
        if after is not None:
            params["after"] = after
        status, page = await call(officer, at, "GET", "/v1/audit/entries", params=params)
        assert status == 200, page
        entries.extend(page["entries"])
        after = page["next"]
        if after is None:
            return entries


async def signed_head(officer: PartnerClient, at: Instance) -> SignedHead | None:
    status, body = await call(officer, at, "GET", "/v1/audit/checkpoint")
    if status == 404:
        return None
    assert status == 200, body
    note = body.decode("utf-8")
    _, size, root = note.split("\n")[:3]
    return SignedHead(note, int(size), base64.b64decode(root))


async def wait_for_head(officer: PartnerClient, at: Instance, size: int) -> SignedHead:
    """Poll `at`'s checkpoint until it covers `size` entries (bounded by the caller's timeout)."""
    while True:
        head = await signed_head(officer, at)
        if head is not None and head.size >= size:
            return head
        await asyncio.sleep(POLL_S)


async def leaves(officer: PartnerClient, at: Sequence[Instance], size: int) -> list[bytes]:
    """The leaf bytes of entries 0..size-1, asked of the instances in turn."""
    gate = asyncio.Semaphore(16)

    async def one(index: int) -> bytes:
        async with gate:
            where = at[index % len(at)]
            status, body = await call(officer, where, "GET", f"/v1/audit/entries/{index}/leaf")
        assert status == 200, body
        assert isinstance(body, bytes)
        return body

    return list(await asyncio.gather(*(one(i) for i in range(size))))


def assert_head_is_the_recomputed_root(
    cluster: Cluster, head: SignedHead, leaf_bytes: Sequence[bytes]
) -> None:
    """The note is signed by the shared key and its root is MTH of exactly these leaves."""
    verify_checkpoint_signature(head.note, SETTINGS.log_origin, cluster.log_verifier_key())
    assert head.note.startswith(SETTINGS.log_origin + "\n")
    assert head.size == len(leaf_bytes)
    assert head.root == rfc_root([rfc_leaf_hash(leaf) for leaf in leaf_bytes])


def last_index(acknowledged: Sequence[Acknowledged]) -> int:
    return max(ack.log_index for ack in acknowledged)


@contextlib.asynccontextmanager
async def within(seconds: float, what: str) -> AsyncIterator[None]:
    """Bound a wait; when it runs out, fail saying what did not happen in time."""
    try:
        async with asyncio.timeout(seconds):
            yield
    except TimeoutError:
        pytest.fail(f"not within {seconds} s: {what}")


async def wait_for_sequencer(cluster: Cluster, among: set[str]) -> str:
    """The instance that holds the sequencer lock, once one of `among` does."""
    while True:
        holder = await cluster.sequencer()
        if holder in among:
            return holder
        await asyncio.sleep(POLL_S)


# --- the behaviour -------------------------------------------------------------------------------


async def test_concurrent_exchanges_at_both_instances_form_one_gap_free_log_under_one_root(
    cluster: Cluster,
) -> None:
    a, b = cluster.instances["a"], cluster.instances["b"]
    both = [a, b]

    async def partner_system(worker: int) -> list[Acknowledged]:
        # Its token comes from one instance; its exchanges alternate between both.
        sender = cluster.client_at(both[worker % 2], SENDER, f"worker-{worker}")
        return [await send_feedback(sender, both[(worker + i) % 2], i) for i in range(20)]

    officer = cluster.client_at(a, OFFICER, "auditor")
    async with within(TEST_TIMEOUT_S, "80 exchanges, the log read back and proven"):
        batches = await asyncio.gather(*(partner_system(w) for w in range(4)))
        acknowledged = [ack for batch in batches for ack in batch]
        assert len(acknowledged) == 80
        assert {ack.at for ack in acknowledged} == {"a", "b"}
        assert len({ack.log_index for ack in acknowledged}) == 80

        entries = await whole_log(officer, a)
        assert [e["index"] for e in entries] == list(range(len(entries)))
        assert await whole_log(officer, b) == entries
        for ack in acknowledged:
            assert entries[ack.log_index]["decision"] == "disclosed"
            assert entries[ack.log_index]["disclosure_id"] == ack.disclosure_id
        disclosed = [e["disclosure_id"] for e in entries if e["decision"] == "disclosed"]
        assert Counter(disclosed) == Counter(ack.disclosure_id for ack in acknowledged)
        # One pseudonym key: a person has one pseudonym whichever instance logged them.
        for bsn in (BSN_CHILD, BSN_OTHER):
            logged_at = {ack.at for ack in acknowledged if ack.bsn == bsn}
            subjects = {entries[x.log_index]["subject"] for x in acknowledged if x.bsn == bsn}
            assert (logged_at, len(subjects)) == ({"a", "b"}, 1)
        assert len({entries[x.log_index]["subject"] for x in acknowledged}) == 2

        size = len(entries)
        async with within(TAKEOVER_TIMEOUT_S, f"a checkpoint over all {size} entries"):
            head = await wait_for_head(officer, a, size)
        assert await signed_head(officer, b) == head
        leaf_bytes = await leaves(officer, both, size)
        assert_head_is_the_recomputed_root(cluster, head, leaf_bytes)

        sample = {0, 1, size // 3, size // 2, size - 1} | {x.log_index for x in acknowledged[::13]}
        for n, index in enumerate(sorted(sample)):
            status, proof = await call(
                officer,
                both[n % 2],
                "GET",
                "/v1/audit/proof/inclusion",
                params={"index": str(index), "tree_size": str(size)},
            )
            assert status == 200, proof
            leaf_hash = base64.b64decode(proof["leaf_hash"])
            assert leaf_hash == rfc_leaf_hash(leaf_bytes[index])
            hashes = [base64.b64decode(h) for h in proof["hashes"]]
            verify_inclusion(index, size, leaf_hash, hashes, head.root)


async def test_leased_pulls_at_both_instances_hand_out_each_message_exactly_once(
    cluster: Cluster,
) -> None:
    a, b = cluster.instances["a"], cluster.instances["b"]
    both = [a, b]
    senders = [cluster.client_at(both[n % 2], SENDER, f"sender-{n}") for n in range(4)]
    team = cluster.client_at(b, RECIPIENT, "acker")
    officer = cluster.client_at(a, OFFICER, "auditor")

    async def puller(n: int) -> list[dict[str, Any]]:
        at = both[n % 2]
        worker = cluster.client_at(at, RECIPIENT, f"puller-{n}")
        got: list[dict[str, Any]] = []
        while True:
            status, page = await call(
                worker, at, "GET", "/v1/inbox", params={"lease": "60", "limit": "5"}
            )
            assert status == 200, page
            if not page["messages"]:
                return got
            got.extend(page["messages"])

    async def ack_at_both(message_id: str) -> list[int]:
        # The same receipt at both instances at once: exactly one may count.
        answers = await asyncio.gather(
            *(call(team, at, "POST", f"/v1/inbox/{message_id}/ack") for at in both)
        )
        return sorted(status for status, _ in answers)

    async with within(TEST_TIMEOUT_S, "40 messages queued, pulled and acknowledged"):
        queued = await asyncio.gather(
            *(send_feedback(senders[n % 4], both[n % 2], n) for n in range(40))
        )
        expected = {ack.disclosure_id for ack in queued}
        assert len(expected) == 40

        pulled = [m for batch in await asyncio.gather(*map(puller, range(4))) for m in batch]
        assert Counter(m["disclosure_id"] for m in pulled) == Counter(expected)
        assert len({m["id"] for m in pulled}) == 40

        statuses = await asyncio.gather(*(ack_at_both(m["id"]) for m in pulled))
        assert statuses == [[204, 404]] * 40

        delivered = await whole_log(officer, a, decision="delivered")
        assert Counter(e["details"]["message_id"] for e in delivered) == Counter(
            m["id"] for m in pulled
        )
        assert {e["disclosure_id"] for e in delivered} == expected
        for at in both:
            status, page = await call(team, at, "GET", "/v1/inbox")
            assert (status, page["messages"]) == (200, [])


async def test_a_client_assertion_used_at_one_instance_is_refused_when_replayed_at_the_other(
    cluster: Cluster,
) -> None:
    a, b = cluster.instances["a"], cluster.instances["b"]
    signing = next(k for k in private_jwks(SENDER)["keys"] if k.get("use", "sig") == "sig")
    assertion = make_client_assertion(
        signing,
        partner_id=SENDER,
        audience=SETTINGS.id,
        actor_id=f"{SENDER}-actor-1",
        actor_role=ROLES[SENDER],
        now=datetime.now(UTC),
    )
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": JWT_BEARER,
        "client_assertion": assertion,
    }
    officer = cluster.client_at(a, OFFICER, "auditor")
    async with (
        within(TEST_TIMEOUT_S, "one assertion at two instances"),
        aiohttp.ClientSession() as http,
    ):
        async with http.post(a.url + "/v1/token", data=form) as first:
            assert first.status == 200, await first.text()
            assert (await first.json())["token_type"] == "Bearer"
        async with http.post(b.url + "/v1/token", data=form) as replay:
            assert replay.status == 400
            assert (await replay.json())["error"] == "invalid_client"

        refused = await whole_log(officer, a, decision="token_refused")
        assert [(e["reason"], e["sender"]["partner"]) for e in refused] == [
            ("jti_replayed", SENDER)
        ]


async def test_what_one_instance_issued_or_sealed_the_other_accepts_and_opens(
    cluster: Cluster,
) -> None:
    a, b = cluster.instances["a"], cluster.instances["b"]
    team = cluster.client_at(a, RECIPIENT)
    consent = {
        "subject": {"bsn": BSN_OTHER, "birth_date": "1990-01-01"},
        "given_by": [{"role": "subject", "name": "Sam de Vries"}],
        "purposes": ["information-request"],
        "to": ["school-de-es"],
        "evidence": {"method": "written", "reference": "dossier-2026-0042"},
    }
    async with within(TEST_TIMEOUT_S, "a consent recorded at one instance, read at the other"):
        status, recorded = await call(team, a, "POST", "/v1/consents", json_body=consent)
        assert status == 201, recorded
        # A's access token, B's read of the sealed record by the person's pseudonym: one
        # access-token key, one at-rest key and one pseudonym key across instances.
        status, listed = await call(team, b, "GET", "/v1/consents", params={"bsn": BSN_OTHER})
        assert status == 200, listed
        assert [c["consent_id"] for c in listed["consents"]] == [recorded["consent_id"]]
        served = [await call(team, at, "GET", "/v1/notifications/keys") for at in (a, b)]
        assert served[0] == served[1]
        assert served[0][0] == 200


async def test_when_the_sequencing_instance_is_killed_a_survivor_signs_new_entries_in_time(
    cluster: Cluster,
) -> None:
    acknowledged: list[Acknowledged] = []
    heads: list[SignedHead] = []
    async with within(TEST_TIMEOUT_S, "the takeover story"):
        a, b = cluster.instances["a"], cluster.instances["b"]
        sender = cluster.client_at(a, SENDER)
        officer = cluster.client_at(a, OFFICER, "auditor")
        for n in range(6):
            acknowledged.append(await send_feedback(sender, [a, b][n % 2], n))
        async with within(TAKEOVER_TIMEOUT_S, "a first checkpoint and a sequencer"):
            heads.append(await wait_for_head(officer, a, last_index(acknowledged) + 1))
            leader = await wait_for_sequencer(cluster, {"a", "b"})

        # Kill the sequencer twice: the first time the other original instance must take over,
        # the second time `c`, which started while the lock was held and had to wait its turn.
        for successor in ("b" if leader == "a" else "a", "c"):
            if successor not in cluster.instances:
                await cluster.start(successor)
                assert await cluster.sequencer() == leader
            survivor = cluster.instances[successor]
            sender = cluster.client_at(survivor, SENDER, f"after-{leader}")
            officer = cluster.client_at(survivor, OFFICER, f"auditor-after-{leader}")
            await cluster.instances[leader].kill()
            assert cluster.instances[leader].process.returncode == -signal.SIGKILL
            async with within(
                TAKEOVER_TIMEOUT_S,
                f"instance {successor} signing new entries after {leader} was killed",
            ):
                for n in range(5):
                    acknowledged.append(await send_feedback(sender, survivor, n))
                heads.append(await wait_for_head(officer, survivor, last_index(acknowledged) + 1))
                assert await wait_for_sequencer(cluster, {successor}) == successor
            leader = successor

        last = cluster.instances[leader]
        entries = await whole_log(officer, last)
        assert [e["index"] for e in entries] == list(range(len(entries)))
        for ack in acknowledged:
            assert entries[ack.log_index]["disclosure_id"] == ack.disclosure_id
        async with within(TAKEOVER_TIMEOUT_S, "a checkpoint over the whole log"):
            heads.append(await wait_for_head(officer, last, len(entries)))
        leaf_bytes = await leaves(officer, [last], len(entries))
        # Every head, signed before and after each takeover, is the root of a prefix of the one
        # log: the trees the successors built extend what the killed sequencers had signed.
        for head in heads:
            assert_head_is_the_recomputed_root(cluster, head, leaf_bytes[: head.size])

        assert await last.stop() == 0, last.tail()
        code, output = await cluster.run(
            "log",
            "verify",
            "--config",
            str(CONFIG),
            "--data",
            str(cluster.root / "verify"),
            "--storage",
            cluster.storage,
        )
        assert code == 0, output
        assert f"log verified: {len(entries)} entries" in output
