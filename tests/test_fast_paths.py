"""The shortcuts taken for speed keep the answers of the long way round.

Remembered access tokens still expire and never let a forged token in; the verifier's batch fold
of the Merkle tree gives the roots that one-leaf-at-a-time appends give; identifiers drawn from
the buffered random pool never repeat, not even across a fork.
"""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.auth import tokens
from gateway.auth.tokens import AccessTokenIssuer
from gateway.errors import InvalidToken
from gateway.ids import new_id, random_bytes
from gateway.log.merkle import MerkleAccumulator, leaf_hash

KEY = b"k" * 32
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def _issue(issuer: AccessTokenIssuer, actor: str = "actor-1", now: datetime = NOW) -> str:
    return issuer.issue(
        partner_id="zorg-noord",
        partner_kind="care_provider",
        kid="zorg-noord-sig",
        actor_id=actor,
        actor_role="casusregisseur",
        now=now,
    ).access_token


def test_a_remembered_token_still_expires() -> None:
    issuer = AccessTokenIssuer(KEY, lifetime_s=60)
    token = _issue(issuer)
    assert issuer.verify(token, now=NOW).actor_id == "actor-1"
    assert issuer.verify(token, now=NOW + timedelta(seconds=59)).actor_id == "actor-1"
    with pytest.raises(InvalidToken):
        issuer.verify(token, now=NOW + timedelta(seconds=60))


def test_a_token_one_character_off_a_remembered_one_is_refused() -> None:
    issuer = AccessTokenIssuer(KEY)
    token = _issue(issuer)
    issuer.verify(token, now=NOW)
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    with pytest.raises(InvalidToken):
        issuer.verify(forged, now=NOW)


def test_a_token_of_another_key_is_refused_by_an_issuer_that_remembers_tokens() -> None:
    other = AccessTokenIssuer(b"o" * 32)
    issuer = AccessTokenIssuer(KEY)
    issuer.verify(_issue(issuer), now=NOW)
    with pytest.raises(InvalidToken):
        issuer.verify(_issue(other), now=NOW)


def test_remembering_tokens_stays_bounded_and_keeps_verifying(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tokens, "_REMEMBERED_TOKENS", 8)
    issuer = AccessTokenIssuer(KEY, lifetime_s=60)
    early = [_issue(issuer, f"early-{n}") for n in range(5)]
    for token in early:
        issuer.verify(token, now=NOW)
    later = NOW + timedelta(seconds=30)
    fresh = [_issue(issuer, f"fresh-{n}", now=later) for n in range(12)]
    for token in fresh:
        issuer.verify(token, now=later + timedelta(seconds=31))  # the early ones have expired
    assert len(issuer._verified) <= 8
    assert issuer.verify(fresh[0], now=later + timedelta(seconds=31)).actor_id == "fresh-0"
    with pytest.raises(InvalidToken):
        issuer.verify(early[0], now=later + timedelta(seconds=31))


def test_a_full_memory_of_tokens_forgets_the_first_seen_one_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Under steady token churn the remembered set stays at its bound and keeps the newest,
    # instead of emptying and refilling (every remembered token verified again at once).
    monkeypatch.setattr(tokens, "_REMEMBERED_TOKENS", 4)
    issuer = AccessTokenIssuer(KEY, lifetime_s=60)
    issued = [_issue(issuer, f"actor-{n}") for n in range(7)]
    for n, token in enumerate(issued):
        issuer.verify(token, now=NOW)
        assert len(issuer._verified) == min(n + 1, 4)
    assert list(issuer._verified) == issued[3:]
    # A forgotten token is still good: verified again by its MAC, and remembered anew.
    assert issuer.verify(issued[0], now=NOW).actor_id == "actor-0"
    assert list(issuer._verified) == [*issued[4:], issued[0]]


@settings(max_examples=60, deadline=None)
@given(sizes=st.lists(st.integers(min_value=0, max_value=70), min_size=1, max_size=5))
def test_folding_leaves_in_batches_gives_the_roots_of_appending_them_one_by_one(
    sizes: list[int],
) -> None:
    one_by_one, batched = MerkleAccumulator(), MerkleAccumulator()
    counter = 0
    for size in sizes:
        leaves = [leaf_hash(b"entry %d" % (counter + n)) for n in range(size)]
        counter += size
        for leaf in leaves:
            one_by_one.append(leaf)
        batched.extend(leaves)
        assert batched.size == one_by_one.size
        assert batched.root() == one_by_one.root()
        assert batched.border == one_by_one.border


def test_a_batch_with_a_short_leaf_hash_leaves_the_tree_unchanged() -> None:
    tree = MerkleAccumulator()
    tree.extend([hashlib.sha256(b"a").digest()])
    before = (tree.size, tree.root())
    with pytest.raises(ValueError, match="32 bytes"):
        tree.extend([hashlib.sha256(b"b").digest(), b"short"])
    assert (tree.size, tree.root()) == before


def test_identifiers_from_the_random_pool_do_not_repeat() -> None:
    ids = {new_id("ex") for _ in range(5000)}
    assert len(ids) == 5000
    assert all(len(i) == len("ex_") + 22 for i in ids)


def test_a_forked_worker_does_not_hand_out_its_parents_random_bytes() -> None:
    random_bytes(1)  # the pool holds unused bytes now
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        os.write(write, random_bytes(32))
        os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    from_child = os.read(read, 32)
    os.close(read)
    assert len(from_child) == 32
    assert from_child != random_bytes(32)
