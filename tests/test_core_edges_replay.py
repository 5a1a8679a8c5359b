"""The replay store at its edges: when a used assertion id (`jti`) may be forgotten.

`use_jti` remembers a partner's jti until the expiry it is given and prunes what has expired
on every call. A tired developer's `<=` for `<`, a pruning that keys on the wrong column, or a
pruning across partners would let a used client assertion be replayed; mutation testing
(`make mutate`, docs/mutation-testing.md) showed the suite let such bugs through. On both back
ends.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.store.base import Storage
from tests.storage_fixtures import (  # noqa: F401  (pytest finds the fixtures by name)
    postgres_backend_fixture,
    storage_backend_fixture,
    storage_fixture,
)

T0 = datetime(2026, 11, 25, 10, 0, 0, 123000, tzinfo=UTC)
MS = timedelta(milliseconds=1)


async def test_a_jti_is_still_refused_at_the_millisecond_it_expires_even_after_other_calls_pruned(
    storage: Storage,
) -> None:
    expires = T0 + timedelta(minutes=6)  # what the caller computes: exp plus the leeway
    assert await storage.use_jti("swt-denhelder", "jti-replayed", expires, T0)
    # other partners' requests at that very millisecond prune what has expired
    assert await storage.use_jti("zorg-noord", "jti-other-1", expires + MS, expires)
    assert await storage.use_jti("swt-denhelder", "jti-other-2", expires + MS, expires)
    assert await storage.use_jti("swt-denhelder", "jti-replayed", expires + MS, expires) is False


async def test_a_jti_is_forgotten_only_after_its_expiry_plus_leeway_has_passed(
    storage: Storage,
) -> None:
    exp_plus_leeway = T0 + timedelta(minutes=5, seconds=60)
    assert await storage.use_jti("swt-denhelder", "jti-1", exp_plus_leeway, T0)
    for now in (T0 + timedelta(minutes=5), exp_plus_leeway - MS, exp_plus_leeway):
        assert await storage.use_jti("swt-denhelder", "jti-1", now + timedelta(minutes=5), now) is (
            False
        ), f"replayed at {now}"
    after = exp_plus_leeway + MS
    assert await storage.use_jti("swt-denhelder", "jti-1", after + timedelta(minutes=5), after)


async def test_pruning_one_expired_jti_keeps_the_jtis_that_expire_later(storage: Storage) -> None:
    early, late = T0 + timedelta(minutes=1), T0 + timedelta(minutes=10)
    assert await storage.use_jti("swt-denhelder", "jti-early", early, T0)
    assert await storage.use_jti("zorg-noord", "jti-late", late, T0)
    now = early + MS  # jti-early has expired, jti-late has not
    assert await storage.use_jti("gi-noordholland", "jti-trigger", late, now)
    assert await storage.use_jti("zorg-noord", "jti-late", late, now) is False
    assert await storage.use_jti("swt-denhelder", "jti-early", late, now) is True


async def test_a_replay_keeps_the_first_expiry_and_does_not_extend_or_shorten_it(
    storage: Storage,
) -> None:
    expires = T0 + timedelta(minutes=5)
    assert await storage.use_jti("swt-denhelder", "jti-1", expires, T0)
    # a replay claiming an earlier expiry must not shorten what is remembered
    assert await storage.use_jti("swt-denhelder", "jti-1", T0 + MS, T0) is False
    now = T0 + timedelta(minutes=1)
    assert await storage.use_jti("swt-denhelder", "jti-1", now + MS, now) is False


async def test_the_same_jti_from_two_partners_is_two_assertions(storage: Storage) -> None:
    expires = T0 + timedelta(minutes=5)
    assert await storage.use_jti("swt-denhelder", "jti-shared", expires, T0)
    assert await storage.use_jti("zorg-noord", "jti-shared", expires, T0)
    assert await storage.use_jti("zorg-noord", "jti-shared", expires, T0) is False
    assert await storage.use_jti("swt-denhelder", "jti-shared", expires, T0) is False
