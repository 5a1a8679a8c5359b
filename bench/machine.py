"""What the figures were measured on: the machine, its load, and the software versions."""

from __future__ import annotations

import os
import platform
import sqlite3
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

__all__ = ["describe_machine", "load_average"]


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages, rounded: how busy the machine was besides us."""
    return [round(x, 2) for x in os.getloadavg()]


def _cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _memory_gib() -> float | None:
    meminfo = Path("/proc/meminfo")
    if not meminfo.exists():
        return None
    for line in meminfo.read_text().splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 1024 / 1024, 1)
    return None


def describe_machine() -> dict[str, Any]:
    """CPU, cores, memory, OS and the versions that matter for the figures."""
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "os": f"{platform.system()} {platform.release()}",
        "python": sys.version.split()[0],
        "aiohttp": version("aiohttp"),
        "cryptography": version("cryptography"),
        "sqlite": sqlite3.sqlite_version,
        "load_average_before": load_average(),
    }
