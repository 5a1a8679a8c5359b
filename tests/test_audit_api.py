"""The privacy officer's audit API over real HTTP: search, entries, leaves, proofs, subject report.

Proofs are checked with a small RFC 9162 verifier written here from the RFC's text (sections
2.1.3.2 and 2.1.4.2), not with gateway.log.merkle, so a shared mistake cannot hide itself; the
verifier is itself held against the published RFC 9162 vectors first.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from gateway.client.http import GatewayClientError, PartnerClient
from tests.conftest import BSN_CHILD, BSN_OTHER, Running, example
from tests.helpers import seed_referral

VECTORS = Path(__file__).resolve().parents[2] / "shared" / "vectors" / "rfc9162"

OFFICER = "fg-denhelder"
OFFICER_NAME = "Functionaris gegevensbescherming gemeente Den Helder"
NON_OFFICERS = ["swt-denhelder", "zorg-noord", "gi-noordholland", "school-de-es"]
CONTRACT_ENTRY_FIELDS = {
    "index",
    "time",
    "exchange_id",
    "disclosure_id",
    "decision",
    "reason",
    "purpose",
    "legal_basis",
    "consent_id",
    "sender",
    "recipient",
    "subject",
    "case_id",
    "fields",
    "payload_sha256",
    "break_glass",
}
MakeClient = Callable[..., PartnerClient]


# --- an independent RFC 9162 verifier -----------------------------------------------------------


class ProofRejected(Exception):
    """A Merkle proof does not prove what it was checked against."""


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


def _require_hash_sizes(*hashes: bytes) -> None:
    if any(len(h) != 32 for h in hashes):
        raise ProofRejected("every hash is 32 bytes")


def verify_inclusion(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """RFC 9162 section 2.1.3.2, step by step."""
    _require_hash_sizes(leaf_hash, root, *proof)
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


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> None:
    """RFC 9162 section 2.1.4.2, step by step."""
    if first > second:
        raise ProofRejected("first tree is larger than the second")
    if first == 0:
        raise ProofRejected("a proof from the empty tree proves nothing")
    if first == second:
        if proof or first_root != second_root:
            raise ProofRejected("equal sizes need equal roots and an empty proof")
        return
    _require_hash_sizes(first_root, second_root, *proof)
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    if not path:
        raise ProofRejected("empty proof")
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofRejected("proof is longer than the path")
        if fn & 1 or fn == sn:
            fr = _interior(c, fr)
            sr = _interior(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = _interior(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0 or fr != first_root or sr != second_root:
        raise ProofRejected("consistency proof does not lead to both roots")


def _b64(text: str) -> bytes:
    return base64.b64decode(text)


def _check_vector(case: dict[str, Any]) -> None:
    proof = [_b64(p) for p in case["proof"] or []]
    if "leafIdx" in case:
        verify_inclusion(
            case["leafIdx"], case["treeSize"], _b64(case["leafHash"]), proof, _b64(case["root"])
        )
    else:
        verify_consistency(
            case["size1"], case["size2"], _b64(case["root1"]), _b64(case["root2"]), proof
        )


def test_the_independent_proof_verifier_agrees_with_every_published_rfc_9162_vector() -> None:
    cases = sorted(VECTORS.rglob("*.json"))
    if not cases:
        pytest.fail(f"the shared RFC 9162 vectors are missing at {VECTORS}")
    for path in cases:
        case = json.loads(path.read_text())
        try:
            _check_vector(case)
        except ProofRejected:
            assert case["wantErr"], f"{path} should verify"
        else:
            assert not case["wantErr"], f"{path} should be rejected"


# --- helpers ------------------------------------------------------------------------------------


async def raw_get(
    client: PartnerClient, path: str, params: dict[str, str] | None = None
) -> tuple[int, bytes, str]:
    """Status, body bytes and content type of one authenticated GET."""
    token = await client.token()
    async with client.session.get(
        client.base_url + path, params=params, headers={"Authorization": f"Bearer {token}"}
    ) as response:
        return response.status, await response.read(), response.content_type


async def all_entries(officer: PartnerClient, **filters: str) -> list[dict[str, Any]]:
    """Every entry the search gives for these filters, following `next` to the end."""
    found: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        params = {**filters, "limit": "500"}
        if after is not None:
            params["after"] = after
        page = await officer.request("GET", "/v1/audit/entries", params=params)
        found.extend(page["entries"])
        after = page["next"]
        if after is None:
            return found


@dataclass(frozen=True)
class SignedHead:
    """A checkpoint's size and root as served (its signature is another test's business)."""

    size: int
    root: bytes


async def checkpoint(officer: PartnerClient) -> SignedHead:
    status, body, content_type = await raw_get(officer, "/v1/audit/checkpoint")
    assert status == 200
    assert content_type == "text/plain"
    origin, size, root = body.decode("utf-8").split("\n")[:3]
    assert origin
    return SignedHead(int(size), _b64(root))


async def integrate(running: Running) -> None:
    await running.gw.sequencer().integrate()


def rfc3339(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Story:
    """A small day of exchanges about two children, with the times it happened at."""

    child_feedback: dict[str, Any]
    other_feedback: dict[str, Any]
    child_stop: dict[str, Any]
    child_safety: dict[str, Any]
    t0: datetime
    t1: datetime
    t2: datetime


async def tell_story(running: Running, clients: MakeClient) -> Story:
    """Disclosures, a refusal and delivery receipts, spread over three moments 10 s apart."""
    running.clock.moment = t0 = running.clock.moment.replace(microsecond=0)
    provider = clients("zorg-noord")
    team = clients("swt-denhelder")
    institution = clients("gi-noordholland")
    school = clients("school-de-es")
    feedback = example("evaluation-feedback")
    case_id = (await team.open_case())["case_id"]
    await team.register_member(case_id, "zorg-noord")
    # The senders' relations to the children (issue 19), without entries the searches would count.
    await seed_referral(running, "zorg-noord", BSN_CHILD, BSN_OTHER)
    await seed_referral(running, "gi-noordholland", BSN_CHILD)
    # The provider's relation to the child is towards the institution too (a relation holds
    # towards the partners it ties the sender to).
    await seed_referral(running, "zorg-noord", BSN_CHILD, towards="gi-noordholland")
    child_feedback = await provider.send(
        "evaluation-feedback", "swt-denhelder", BSN_CHILD, feedback, case_id=case_id
    )
    other_feedback = await provider.send(
        "evaluation-feedback", "swt-denhelder", BSN_OTHER, feedback
    )
    running.clock.moment = t1 = t0 + timedelta(seconds=10)
    child_stop = await institution.send(
        "start-stop", "swt-denhelder", BSN_CHILD, example("start-stop")
    )
    child_safety = await provider.send(
        "safety-assessment", "gi-noordholland", BSN_CHILD, example("safety-assessment")
    )
    with pytest.raises(GatewayClientError) as refused:
        await school.send("evaluation-feedback", "swt-denhelder", BSN_CHILD, feedback)
    assert refused.value.code == "sender_not_allowed"
    running.clock.moment = t2 = t0 + timedelta(seconds=20)
    for message in (await team.inbox())["messages"]:
        await team.ack(message["id"])
    return Story(child_feedback, other_feedback, child_stop, child_safety, t0, t1, t2)


async def send_feedback(
    running: Running, clients: MakeClient, count: int, bsn: str = BSN_CHILD
) -> None:
    # The provider's relation to the child (issue 19), without entries the searches would count.
    await seed_referral(running, "zorg-noord", bsn)
    provider = clients("zorg-noord")
    for _ in range(count):
        await provider.send(
            "evaluation-feedback", "swt-denhelder", bsn, example("evaluation-feedback")
        )


def pseudonym_of(entries: Sequence[dict[str, Any]], log_index: int) -> str:
    subject = next(e["subject"] for e in entries if e["index"] == log_index)
    assert isinstance(subject, str)
    return subject


# --- who may look -------------------------------------------------------------------------------

AUDIT_ROUTES = [
    ("/v1/audit/entries", {}),
    ("/v1/audit/entries", {"bsn": BSN_CHILD}),
    ("/v1/audit/entries/0", {}),
    ("/v1/audit/entries/0/leaf", {}),
    ("/v1/audit/checkpoint", {}),
    ("/v1/audit/proof/inclusion", {"index": "0", "tree_size": "1"}),
    ("/v1/audit/proof/consistency", {"first": "1", "second": "1"}),
    ("/v1/audit/subject-report", {"bsn": BSN_CHILD}),
    ("/v1/audit/subject-report", {"bsn": BSN_CHILD, "format": "html"}),
]


async def test_every_audit_route_refuses_partners_that_are_not_privacy_officers(
    running: Running, clients: MakeClient
) -> None:
    await send_feedback(running, clients, 1)
    await integrate(running)
    before = await all_entries(clients(OFFICER))
    for partner in NON_OFFICERS:
        client = clients(partner)
        for path, params in AUDIT_ROUTES:
            status, body, _ = await raw_get(client, path, params)
            assert status == 403, (partner, path, params)
            error = json.loads(body)["error"]
            assert error["code"] == "forbidden"
            assert error["message"]
            assert error["how_to_fix"]
    # A refused look is no look: nothing about the child was read, so no audit_access entry.
    assert await all_entries(clients(OFFICER)) == before


async def test_the_audit_api_refuses_a_caller_without_a_token(running: Running) -> None:
    async with aiohttp.ClientSession() as session:
        for path, params in AUDIT_ROUTES:
            async with session.get(running.url + path, params=params) as response:
                assert response.status == 401, path
                assert response.headers["WWW-Authenticate"].startswith("Bearer")
                assert (await response.json())["error"]["code"] == "invalid_token"


# --- entries and search -------------------------------------------------------------------------


async def test_a_disclosure_entry_carries_every_field_the_contract_lists(
    running: Running, clients: MakeClient
) -> None:
    story = await tell_story(running, clients)
    officer = clients(OFFICER)
    disclosure = story.child_feedback["disclosures"][0]
    entries = await all_entries(officer)
    entry = next(e for e in entries if e["index"] == disclosure["log_index"])

    assert set(entry) >= CONTRACT_ENTRY_FIELDS
    assert entry["time"].endswith("Z")
    assert datetime.fromisoformat(entry["time"].replace("Z", "+00:00")) == story.t0
    assert entry["exchange_id"] == story.child_feedback["exchange_id"]
    assert entry["disclosure_id"] == disclosure["disclosure_id"]
    assert entry["decision"] == "disclosed"
    assert entry["reason"] == "statute"
    assert entry["purpose"] == "evaluation-feedback"
    assert entry["legal_basis"] == story.child_feedback["legal_basis"]
    assert entry["legal_basis"] == {"type": "statute", "reference": "Jeugdwet art. 7.4.0 lid 2"}
    assert entry["consent_id"] is None
    assert entry["sender"] == {
        "partner": "zorg-noord",
        "actor": "zorg-noord-actor-1",
        "role": "casusregisseur",
    }
    assert entry["recipient"] == "swt-denhelder"
    assert re.fullmatch(r"[0-9a-f]{64}", entry["subject"])
    assert re.fullmatch(r"case_[a-z2-7]{26}", entry["case_id"])
    assert set(example("evaluation-feedback")) <= set(entry["fields"])
    assert "goals[].result" in entry["fields"]
    assert entry["payload_sha256"] == story.child_feedback["payload_sha256"]
    assert re.fullmatch(r"[0-9a-f]{64}", entry["payload_sha256"])
    assert entry["break_glass"] is False
    assert await officer.request("GET", f"/v1/audit/entries/{entry['index']}") == entry

    refused = next(e for e in entries if e["decision"] == "refused")
    assert refused["reason"] == "sender_not_allowed"
    assert refused["sender"]["partner"] == "school-de-es"
    assert refused["subject"] == entry["subject"]
    assert refused["disclosure_id"] is None

    # The log keeps no BSN and no payload value, only pseudonyms, field names and a digest.
    listing = json.dumps(entries)
    assert BSN_CHILD not in listing
    assert BSN_OTHER not in listing
    assert example("evaluation-feedback")["advice"] not in listing


async def test_an_entry_that_does_not_exist_is_not_found(
    running: Running, clients: MakeClient
) -> None:
    await send_feedback(running, clients, 2)
    officer = clients(OFFICER)
    for path in ("/v1/audit/entries/2", "/v1/audit/entries/2/leaf", "/v1/audit/entries/x/leaf"):
        status, body, _ = await raw_get(officer, path)
        assert status == 404, path
        assert json.loads(body)["error"]["code"] == "not_found"


def _by_partner(partner: str) -> Callable[[dict[str, Any], Story], bool]:
    def matches(entry: dict[str, Any], _: Story) -> bool:
        sender = entry["sender"]["partner"] if entry["sender"] else None
        return partner in (sender, entry["recipient"])

    return matches


SEARCHES: dict[
    str, tuple[Callable[[Story], dict[str, str]], Callable[[dict[str, Any], Story], bool]]
] = {
    "partner_as_sender": (lambda s: {"partner": "zorg-noord"}, _by_partner("zorg-noord")),
    "partner_as_sender_or_recipient": (
        lambda s: {"partner": "gi-noordholland"},
        _by_partner("gi-noordholland"),
    ),
    "purpose": (lambda s: {"purpose": "start-stop"}, lambda e, s: e["purpose"] == "start-stop"),
    "decision": (lambda s: {"decision": "delivered"}, lambda e, s: e["decision"] == "delivered"),
    "refusals": (lambda s: {"decision": "refused"}, lambda e, s: e["decision"] == "refused"),
    "since": (
        lambda s: {"since": rfc3339(s.t1)},
        lambda e, s: datetime.fromisoformat(e["time"].replace("Z", "+00:00")) >= s.t1,
    ),
    "until": (
        lambda s: {"until": rfc3339(s.t1)},
        lambda e, s: datetime.fromisoformat(e["time"].replace("Z", "+00:00")) < s.t1,
    ),
    "since_and_until": (
        lambda s: {"since": rfc3339(s.t1), "until": rfc3339(s.t2)},
        lambda e, s: s.t1 <= datetime.fromisoformat(e["time"].replace("Z", "+00:00")) < s.t2,
    ),
    "purpose_and_partner": (
        lambda s: {"purpose": "evaluation-feedback", "partner": "school-de-es"},
        lambda e, s: (
            e["purpose"] == "evaluation-feedback" and e["sender"]["partner"] == "school-de-es"
        ),
    ),
}


@pytest.mark.parametrize("search", sorted(SEARCHES))
async def test_each_search_filter_returns_exactly_the_matching_entries(
    running: Running, clients: MakeClient, search: str
) -> None:
    story = await tell_story(running, clients)
    officer = clients(OFFICER)
    everything = await all_entries(officer)
    params, matches = SEARCHES[search]
    expected = [e for e in everything if matches(e, story)]
    assert 0 < len(expected) < len(everything), "the story must make the filter bite"
    assert await all_entries(officer, **params(story)) == expected


async def test_a_bsn_search_finds_entries_by_pseudonym_and_is_itself_logged(
    running: Running, clients: MakeClient
) -> None:
    story = await tell_story(running, clients)
    officer = clients(OFFICER, actor="inspector")
    everything = await all_entries(officer)
    child = pseudonym_of(everything, story.child_feedback["disclosures"][0]["log_index"])
    other = pseudonym_of(everything, story.other_feedback["disclosures"][0]["log_index"])
    assert child != other

    status, body, _ = await raw_get(officer, "/v1/audit/entries", {"bsn": BSN_CHILD})
    assert status == 200
    assert BSN_CHILD.encode() not in body
    found = json.loads(body)["entries"]
    assert found == [e for e in everything if e["subject"] == child]
    assert {e["decision"] for e in found} >= {"disclosed", "refused", "delivered"}

    after = await all_entries(officer)
    assert len(after) == len(everything) + 1
    look = after[-1]
    assert look["index"] == everything[-1]["index"] + 1
    assert look["decision"] == "audit_access"
    assert look["subject"] == child
    assert look["sender"] == {
        "partner": OFFICER,
        "actor": f"{OFFICER}-inspector",
        "role": "privacy_officer",
    }
    assert datetime.fromisoformat(look["time"].replace("Z", "+00:00")) == running.clock.moment
    # The look is found again by the same search, so the person's own report can show it.
    assert (await all_entries(officer, bsn=BSN_CHILD))[-1]["index"] == look["index"]


async def test_a_search_by_an_invalid_bsn_is_refused_and_not_logged(
    running: Running, clients: MakeClient
) -> None:
    await send_feedback(running, clients, 1)
    officer = clients(OFFICER)
    before = await all_entries(officer)
    for bsn in ("123456789", "99999235", "9999923510", "abcdefghi"):
        for path in ("/v1/audit/entries", "/v1/audit/subject-report"):
            status, body, _ = await raw_get(officer, path, {"bsn": bsn})
            assert status == 400, (bsn, path)
            assert json.loads(body)["error"]["code"] == "invalid_subject", (bsn, path)
    assert await all_entries(officer) == before


async def test_cursor_paging_walks_the_whole_log_without_gaps_or_repeats(
    running: Running, clients: MakeClient
) -> None:
    await tell_story(running, clients)
    officer = clients(OFFICER)
    everything = await all_entries(officer)
    assert [e["index"] for e in everything] == list(range(len(everything)))

    walked: list[dict[str, Any]] = []
    params = {"limit": "2"}
    pages = 0
    while True:
        page = await officer.request("GET", "/v1/audit/entries", params=params)
        pages += 1
        walked.extend(page["entries"])
        if page["next"] is None:
            assert len(page["entries"]) <= 2
            break
        assert len(page["entries"]) == 2
        assert page["next"] == str(page["entries"][-1]["index"])
        params = {"limit": "2", "after": page["next"]}
    assert walked == everything
    assert pages == (len(everything) + 1) // 2

    later = await officer.request("GET", "/v1/audit/entries", params={"after": "3"})
    assert later == {"entries": everything[4:], "next": None}


async def test_cursor_paging_keeps_the_filter_it_started_with(
    running: Running, clients: MakeClient
) -> None:
    await tell_story(running, clients)
    officer = clients(OFFICER)
    delivered = await all_entries(officer, decision="delivered")
    assert len(delivered) == 3
    walked: list[dict[str, Any]] = []
    params = {"decision": "delivered", "limit": "1"}
    while True:
        page = await officer.request("GET", "/v1/audit/entries", params=params)
        walked.extend(page["entries"])
        if page["next"] is None:
            break
        params = {"decision": "delivered", "limit": "1", "after": page["next"]}
    assert walked == delivered


async def test_malformed_search_parameters_are_invalid_requests(
    running: Running, clients: MakeClient
) -> None:
    officer = clients(OFFICER)
    for params in ({"limit": "0"}, {"limit": "many"}, {"after": "-1"}, {"since": "yesterday"}):
        status, body, _ = await raw_get(officer, "/v1/audit/entries", params)
        assert status == 400, params
        assert json.loads(body)["error"]["code"] == "invalid_request", params


# --- leaves and proofs --------------------------------------------------------------------------


async def test_each_leaf_is_proven_included_in_the_signed_root_by_its_inclusion_proof(
    running: Running, clients: MakeClient
) -> None:
    await tell_story(running, clients)
    await integrate(running)
    officer = clients(OFFICER)
    head = await checkpoint(officer)
    entries = await all_entries(officer)
    assert head.size == len(entries) >= 8

    leaves: list[bytes] = []
    for entry in entries:
        status, leaf, content_type = await raw_get(
            officer, f"/v1/audit/entries/{entry['index']}/leaf"
        )
        assert status == 200
        assert content_type == "application/octet-stream"
        # The leaf is the entry itself, byte for byte what was hashed.
        assert json.loads(leaf) == {k: v for k, v in entry.items() if k != "index"}
        leaves.append(leaf)
        proof = await officer.request(
            "GET",
            "/v1/audit/proof/inclusion",
            params={"index": str(entry["index"]), "tree_size": str(head.size)},
        )
        assert proof["index"] == entry["index"]
        assert proof["tree_size"] == head.size
        assert _b64(proof["leaf_hash"]) == rfc_leaf_hash(leaf)
        hashes = [_b64(h) for h in proof["hashes"]]
        verify_inclusion(entry["index"], head.size, rfc_leaf_hash(leaf), hashes, head.root)
        # The same proof must not vouch for a different entry.
        with pytest.raises(ProofRejected):
            verify_inclusion(
                entry["index"], head.size, rfc_leaf_hash(leaf + b" "), hashes, head.root
            )
    assert rfc_root([rfc_leaf_hash(leaf) for leaf in leaves]) == head.root


async def test_consistency_proofs_between_every_pair_of_earlier_checkpoints_verify(
    running: Running, clients: MakeClient
) -> None:
    officer = clients(OFFICER)
    heads: list[SignedHead] = []
    for batch in (1, 1, 2, 3, 1, 5, 4, 8):
        await send_feedback(running, clients, batch, BSN_CHILD if batch % 2 else BSN_OTHER)
        await integrate(running)
        heads.append(await checkpoint(officer))
    assert [h.size for h in heads] == [1, 2, 4, 7, 8, 13, 17, 25]

    leaves = [
        rfc_leaf_hash((await raw_get(officer, f"/v1/audit/entries/{i}/leaf"))[1])
        for i in range(heads[-1].size)
    ]
    for head in heads:
        assert rfc_root(leaves[: head.size]) == head.root

    for older in heads:
        for newer in heads:
            if older.size > newer.size:
                continue
            proof = await officer.request(
                "GET",
                "/v1/audit/proof/consistency",
                params={"first": str(older.size), "second": str(newer.size)},
            )
            assert (proof["first"], proof["second"]) == (older.size, newer.size)
            hashes = [_b64(h) for h in proof["hashes"]]
            verify_consistency(older.size, newer.size, older.root, newer.root, hashes)
            if older.size < newer.size:
                with pytest.raises(ProofRejected):
                    verify_consistency(older.size, newer.size, newer.root, older.root, hashes)

    # An inclusion proof at an earlier tree size verifies against that size's root.
    for head in heads:
        for index in {0, head.size // 2, head.size - 1}:
            proof = await officer.request(
                "GET",
                "/v1/audit/proof/inclusion",
                params={"index": str(index), "tree_size": str(head.size)},
            )
            hashes = [_b64(h) for h in proof["hashes"]]
            verify_inclusion(index, head.size, leaves[index], hashes, head.root)


PROOF_PARAMETER_ERRORS = {
    "index_equal_to_tree_size": ("inclusion", {"index": "3", "tree_size": "3"}),
    "index_beyond_tree_size": ("inclusion", {"index": "7", "tree_size": "2"}),
    "tree_size_beyond_checkpoint": ("inclusion", {"index": "0", "tree_size": "4"}),
    "tree_size_zero": ("inclusion", {"index": "0", "tree_size": "0"}),
    "index_not_a_number": ("inclusion", {"index": "one", "tree_size": "3"}),
    "index_negative": ("inclusion", {"index": "-1", "tree_size": "3"}),
    "tree_size_fractional": ("inclusion", {"index": "0", "tree_size": "2.5"}),
    "index_missing": ("inclusion", {"tree_size": "3"}),
    "first_larger_than_second": ("consistency", {"first": "3", "second": "2"}),
    "second_beyond_checkpoint": ("consistency", {"first": "1", "second": "4"}),
    "first_not_a_number": ("consistency", {"first": "x", "second": "3"}),
    "second_not_a_number": ("consistency", {"first": "1", "second": "3e0"}),
    "second_missing": ("consistency", {"first": "1"}),
}


async def test_bad_proof_parameters_are_invalid_requests_in_the_contract_shape(
    running: Running, clients: MakeClient
) -> None:
    await send_feedback(running, clients, 3)
    await integrate(running)
    await send_feedback(running, clients, 2)  # in the log but not yet under a checkpoint
    officer = clients(OFFICER)
    assert (await checkpoint(officer)).size == 3
    for case, (kind, params) in PROOF_PARAMETER_ERRORS.items():
        status, body, content_type = await raw_get(officer, f"/v1/audit/proof/{kind}", params)
        assert status == 400, case
        assert content_type == "application/json", case
        answer = json.loads(body)
        assert list(answer) == ["error"], case
        assert answer["error"]["code"] == "invalid_request", case
        for text in ("message", "how_to_fix"):
            assert isinstance(answer["error"][text], str), case
            assert answer["error"][text], case


# --- the subject access report ------------------------------------------------------------------


async def test_the_subject_report_lists_every_disclosure_about_the_person_in_plain_language(
    running: Running, clients: MakeClient
) -> None:
    story = await tell_story(running, clients)
    officer = clients(OFFICER)
    everything = await all_entries(officer)
    child = pseudonym_of(everything, story.child_feedback["disclosures"][0]["log_index"])
    other = pseudonym_of(everything, story.other_feedback["disclosures"][0]["log_index"])

    status, body, content_type = await raw_get(
        officer, "/v1/audit/subject-report", {"bsn": BSN_CHILD}
    )
    assert status == 200
    assert content_type == "application/json"
    text = body.decode("utf-8")
    assert BSN_CHILD not in text
    assert BSN_OTHER not in text
    assert other not in text
    assert story.other_feedback["exchange_id"] not in text
    report = json.loads(text)
    assert report["count"] == len(report["disclosures"])

    by_index = {e["index"]: e for e in everything}
    reported = {item["index"]: item for item in report["disclosures"]}
    assert all(by_index[i]["subject"] == child for i in reported)
    disclosed = {
        e["index"] for e in everything if e["subject"] == child and e["decision"] == "disclosed"
    }
    assert len(disclosed) == 3
    assert {i for i, item in reported.items() if item["decision"] == "disclosed"} == disclosed

    feedback = reported[story.child_feedback["disclosures"][0]["log_index"]]
    entry = by_index[story.child_feedback["disclosures"][0]["log_index"]]
    assert feedback["time"] == entry["time"]
    assert feedback["purpose"] == "evaluation-feedback"
    assert feedback["from"] == "zorg-noord"
    assert feedback["to"] == "swt-denhelder"
    assert feedback["legal_basis"] == entry["legal_basis"]
    assert feedback["fields"] == entry["fields"]
    sentence = feedback["text"]
    for words in (
        "Zorgaanbieder Noord",
        "Sociaal Wijkteam Den Helder",
        "Evaluation feedback",
        "Jeugdwet art. 7.4.0 lid 2",
        "advice_code",
        "safety_concern",
    ):
        assert words in sentence
    safety = reported[story.child_safety["disclosures"][0]["log_index"]]
    assert "Jeugdbescherming Noord-Holland" in safety["text"]
    # Plain language: organisations by name, no identifiers a person cannot read.
    for item in reported.values():
        assert item["text"]
        assert child not in item["text"]
        for partner_id in [*NON_OFFICERS, OFFICER]:
            assert partner_id not in item["text"]


async def test_the_subject_report_says_nothing_about_another_person(
    running: Running, clients: MakeClient
) -> None:
    story = await tell_story(running, clients)
    officer = clients(OFFICER)
    report = await officer.request("GET", "/v1/audit/subject-report", params={"bsn": BSN_OTHER})
    assert [item["index"] for item in report["disclosures"] if item["decision"] == "disclosed"] == [
        story.other_feedback["disclosures"][0]["log_index"]
    ]
    child_indices = {
        d["log_index"]
        for ex in (story.child_feedback, story.child_stop, story.child_safety)
        for d in ex["disclosures"]
    }
    assert not child_indices & {item["index"] for item in report["disclosures"]}
    assert "Jeugdbescherming Noord-Holland" not in json.dumps(report)


async def test_the_subject_report_is_itself_logged_as_an_officers_look(
    running: Running, clients: MakeClient
) -> None:
    await tell_story(running, clients)
    officer = clients(OFFICER)
    before = await all_entries(officer)
    await officer.request("GET", "/v1/audit/subject-report", params={"bsn": BSN_CHILD})
    after = await all_entries(officer)
    assert after[: len(before)] == before
    [look] = after[len(before) :]
    assert look["decision"] == "audit_access"
    assert look["sender"]["partner"] == OFFICER
    assert look["subject"] == (await all_entries(officer, bsn=BSN_CHILD))[0]["subject"]


async def test_the_printable_subject_report_shows_date_and_officer_and_no_bsn(
    running: Running, clients: MakeClient
) -> None:
    await tell_story(running, clients)
    officer = clients(OFFICER, actor="j-de-vries")
    report = await officer.request("GET", "/v1/audit/subject-report", params={"bsn": BSN_CHILD})
    status, body, content_type = await raw_get(
        officer, "/v1/audit/subject-report", {"bsn": BSN_CHILD, "format": "html"}
    )
    assert status == 200
    assert content_type == "text/html"
    page = body.decode("utf-8")
    assert page.lower().startswith("<!doctype html>")
    assert "<title>" in page
    assert running.clock.moment.strftime("%Y-%m-%d") in page
    assert OFFICER_NAME in page
    assert f"{OFFICER}-j-de-vries" in page
    assert BSN_CHILD not in page
    assert not re.search(r"(?<!\d)\d{9}(?!\d)", page), "no BSN-shaped number on paper"
    assert report["subject"] not in page
    assert report["count"] == len(report["disclosures"]) >= 5
    for item in report["disclosures"]:
        assert html.escape(item["text"]) in page
