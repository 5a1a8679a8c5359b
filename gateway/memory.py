"""Hand memory that malloc keeps after it was freed back to the operating system, periodically.

glibc's malloc gives each thread that allocates an arena of its own (a worker has the event
loop's, the SQLite writer's and its readers'), and keeps the pages freed inside an arena mapped
for later use; only the top of the main heap shrinks by itself. Under mixed traffic a worker's
resident memory then creeps up although what it has in use stays flat: during `make soak` on
SQLite, `mallinfo2` showed 17-22 MiB in use throughout while the free-but-kept part grew from 1
to 18 MiB and the worker's RSS by ~2 MiB a minute. `malloc_trim(0)` returns those free pages
(with `madvise`, moving nothing), and tune_malloc keeps fewer arenas and large blocks off the
heap; together they halve that growth on SQLite, they do not stop it (bench/README.md, "Worker
memory under the soak"). On a C library other than glibc this module does nothing.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import platform
from collections.abc import Callable
from functools import cache

import structlog

__all__ = ["TRIM_INTERVAL_S", "release_free_memory", "trim_periodically", "tune_malloc"]

log = structlog.get_logger("gateway.memory")

TRIM_INTERVAL_S = 10.0


_M_MMAP_THRESHOLD = -3  # mallopt's parameter numbers in glibc's malloc.h
_M_ARENA_MAX = -8
WORKER_ARENAS = 2
MMAP_THRESHOLD = 64 * 1024


@cache
def _glibc() -> ctypes.CDLL | None:
    if platform.libc_ver()[0] != "glibc":
        return None
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None


def _malloc_trim() -> Callable[[int], int] | None:
    libc = _glibc()
    if libc is None:
        return None
    trim = libc.malloc_trim
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def tune_malloc() -> bool:
    """Call once in the serving process before any thread starts (forked workers inherit it);
    False where malloc is not glibc's or glibc refused a setting.

    - The threads share at most WORKER_ARENAS arenas (glibc's default is eight per core), each
      with its own free pages kept. Threads that ran before this call keep their arenas, in a
      forked worker too, hence "before any thread".
    - Blocks of MMAP_THRESHOLD or more (an audit page, a large answer) are mapped and unmapped
      on their own. By default glibc raises that threshold to the size of every mapped block
      freed, up to 32 MiB, after which such blocks come from the heap and leave holes there
      that small long-lived blocks pin.

    What the operator set (MALLOC_ARENA_MAX, MALLOC_MMAP_THRESHOLD_, or the same through
    GLIBC_TUNABLES) is left alone.
    """
    libc = _glibc()
    if libc is None:
        return False
    tunables = os.environ.get("GLIBC_TUNABLES", "")
    ok = True
    if not os.environ.get("MALLOC_ARENA_MAX") and "glibc.malloc.arena_max" not in tunables:
        ok = bool(libc.mallopt(_M_ARENA_MAX, WORKER_ARENAS)) and ok
    if (
        not os.environ.get("MALLOC_MMAP_THRESHOLD_")
        and "glibc.malloc.mmap_threshold" not in tunables
    ):
        ok = bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and ok
    return ok


def release_free_memory() -> bool:
    """Return freed heap pages of every arena to the system; False where that is not possible.

    A foreign call through ctypes releases the interpreter lock, so other threads run meanwhile.
    """
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


async def trim_periodically(interval_s: float = TRIM_INTERVAL_S) -> None:
    """Run release_free_memory every `interval_s` seconds, off the event loop, until cancelled."""
    if _malloc_trim() is None:
        log.debug("malloc_trim_unavailable", libc=platform.libc_ver()[0] or "unknown")
        return
    while True:
        await asyncio.sleep(interval_s)
        await asyncio.to_thread(release_free_memory)
