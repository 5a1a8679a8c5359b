"""The picture of a run: throughput and latency against concurrency, gateway beside bare aiohttp."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

__all__ = ["plot_runs"]

_COLOURS = {"bare": "#777777", "floor": "#c07a1a", "gateway": "#1f5fa8"}


def plot_runs(
    runs: Mapping[str, Mapping[str, Mapping[str, float]]], title: str, path: Path
) -> None:
    """Write a small PNG: requests/s on the left, p50/p99/p99.9 latency on the right."""
    import matplotlib

    matplotlib.use("Agg")  # no display: render to the file only
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6), dpi=80)
    for server, by_connections in runs.items():
        levels = sorted(by_connections, key=int)
        xs = [int(c) for c in levels]
        colour = _COLOURS.get(server)
        left.plot(xs, [by_connections[c]["rps"] for c in levels], "o-", color=colour, label=server)
        for key, style in (("p50_ms", "o-"), ("p99_ms", "s--"), ("p999_ms", "^:")):
            right.plot(
                xs,
                [by_connections[c][key] for c in levels],
                style,
                color=colour,
                label=f"{server} {key.removesuffix('_ms').replace('p999', 'p99.9')}",
            )
    ticks = sorted({int(c) for by_connections in runs.values() for c in by_connections})
    for axis in (left, right):
        axis.set_xscale("log", base=2)
        axis.set_xticks(ticks, [str(c) for c in ticks])
        axis.minorticks_off()
        axis.set_xlabel("concurrent connections")
        axis.grid(True, which="both", alpha=0.3)
    left.set_ylabel("requests/s")
    left.set_ylim(bottom=0)
    left.legend(fontsize=8)
    right.set_yscale("log")
    right.set_ylabel("latency (ms)")
    right.legend(fontsize=7, ncol=2)
    figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
