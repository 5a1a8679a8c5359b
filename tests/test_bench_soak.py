"""bench.soak's memory verdict: medians over windows, not single samples."""

from __future__ import annotations

from typing import Any

from bench.soak import MEMORY_WINDOW_S, SAMPLE_EVERY_S, memory_growth


def _samples(rss: list[int], warm_index: int) -> list[dict[str, Any]]:
    out = []
    for n, kib in enumerate(rss):
        phase = "start" if n == 0 else "warm" if n == warm_index else "load"
        out.append(
            {"t": n * SAMPLE_EVERY_S, "phase": phase, "rss_kib": {7: kib}, "anon_kib": {7: kib}}
        )
    out[-1]["phase"] = "end"
    return out


def test_one_high_sample_at_either_end_does_not_decide_the_growth() -> None:
    per_window = int(MEMORY_WINDOW_S / SAMPLE_EVERY_S) + 1
    rss = [50_000] + [80_000] * 3 + [70_000] * per_window + [80_000] * 20 + [80_000] * per_window
    rss[4] = 60_000  # a trough just as the warm-up ends
    rss[-1] = 95_000  # a swing just as the run ends
    grown = memory_growth(_samples(rss, warm_index=4), [7])["7"]
    assert grown["warm_kib"] == 70_000
    assert grown["end_kib"] == 80_000
    assert grown["growth"] == round(80_000 / 70_000 - 1, 4)


def test_steady_growth_is_still_seen() -> None:
    rss = [50_000] + [70_000 + 200 * n for n in range(120)]
    grown = memory_growth(_samples(rss, warm_index=12), [7])["7"]
    assert grown["growth"] > 0.25
