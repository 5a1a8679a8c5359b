"""Rate limits per partner and actor, and failed token requests per claimed client: pure counters.

- `RateLimiter`: token buckets per partner and per actor, rates per partner kind
  (`[rate_limits]` in gateway.toml); refusals are `429 rate_limited` with Retry-After.
- `FailedAssertions`: failed token requests per claimed client id; past a threshold they get
  `429` and are logged as one summary entry per window instead of one per attempt.

All counters live in the worker's memory: with several workers or instances the limits hold per
worker (docs/deploy.md says so). Time is passed in as `now` (monotonic seconds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from gateway.errors import RateLimited

__all__ = ["FailedAssertions", "Rate", "RateLimiter", "TokenBucket"]


@dataclass(frozen=True, slots=True)
class Rate:
    """A sustained rate (requests per second) and the burst allowed above it."""

    per_second: float
    burst: int


@dataclass(slots=True)
class TokenBucket:
    """The classic bucket: refills at `rate.per_second`, holds at most `rate.burst` tokens."""

    rate: Rate
    tokens: float
    stamp: float

    def take(self, now: float) -> float:
        """0 when a token was taken; otherwise the seconds until one will be there."""
        self.tokens = min(self.rate.burst, self.tokens + (now - self.stamp) * self.rate.per_second)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate.per_second


@dataclass(slots=True)
class RateLimiter:
    """Buckets per partner (rate by partner kind) and per actor within a partner."""

    partner_rates: dict[str, Rate]
    actor_rate: Rate
    _buckets: dict[tuple[str, ...], TokenBucket] = field(default_factory=dict)

    def _bucket(self, key: tuple[str, ...], rate: Rate, now: float) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) > 100_000:  # bounded memory: forget idle (full) buckets
                self._buckets = {k: b for k, b in self._buckets.items() if b.tokens < b.rate.burst}
            bucket = self._buckets[key] = TokenBucket(rate, float(rate.burst), now)
        return bucket

    def check(self, partner: str, kind: str, actor: str, now: float) -> None:
        """Return, or raise RateLimited with the seconds to wait."""
        rate = self.partner_rates.get(kind)
        waits = [self._bucket(("actor", partner, actor), self.actor_rate, now).take(now)]
        if rate is not None:
            waits.append(self._bucket(("partner", partner), rate, now).take(now))
        wait = max(waits)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise RateLimited(
                f"too many requests from partner '{partner}' or this actor",
                f"Slow down: retry after {seconds} s (limits per partner kind are in the gateway's "
                "configuration).",
                retry_after=seconds,
            )


@dataclass(slots=True)
class FailedAssertions:
    """Failed token requests per claimed client id, in fixed windows.

    The first `log_each` failures of a window are logged one by one; later ones are counted and
    get `429`, and the count is logged once when the window closes (`flush`).
    """

    window_s: float = 60.0
    log_each: int = 20
    _windows: dict[str, tuple[float, int, dict[str, int]]] = field(default_factory=dict)

    def record(self, client: str, reason: str, now: float) -> tuple[bool, int]:
        """(log this one individually?, seconds to wait if it is over the threshold)."""
        start, count, reasons = self._windows.get(client, (now, 0, {}))
        if now - start >= self.window_s:
            start, count, reasons = now, 0, {}
        count += 1
        if count > self.log_each:
            reasons[reason] = reasons.get(reason, 0) + 1
        self._windows[client] = (start, count, reasons)
        if count <= self.log_each:
            return True, 0
        return False, max(1, math.ceil(start + self.window_s - now))

    def flush(self, now: float) -> list[tuple[str, int, dict[str, int]]]:
        """Closed windows with unlogged failures: (client, how many, by reason); forgets them."""
        closed = []
        for client, (start, count, reasons) in list(self._windows.items()):
            if now - start >= self.window_s:
                if reasons:
                    closed.append((client, count - self.log_each, reasons))
                del self._windows[client]
        return closed
