"""gateway.memory: freed heap pages go back to the system, and large blocks are mapped apart.

Each check runs in a fresh interpreter, so neither the test process's heap nor its settings
decide the outcome. glibc is what the gateway's images and this machine run; elsewhere the
functions say False and do nothing, which the last tests check for their part.
"""

from __future__ import annotations

import asyncio
import os
import platform
import subprocess
import sys
import textwrap

import pytest

from gateway import memory

glibc_only = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc")


# The malloc settings of whoever runs the tests must not decide them.
_CLEAN_ENV = {
    k: v
    for k, v in os.environ.items()
    if not k.startswith("MALLOC_") and k not in ("GLIBC_TUNABLES", "LD_PRELOAD")
}


def _python(code: str, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env=_CLEAN_ENV if env is None else env,
    )
    return done.stdout.strip()


MALLINFO = """
import ctypes

class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd",
        "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2
"""

RSS_ANON = """
def rss_anon_kib():
    for line in open("/proc/self/status"):
        if line.startswith("RssAnon:"):
            return int(line.split()[1])
"""


@glibc_only
def test_release_free_memory_hands_back_the_holes_malloc_keeps() -> None:
    out = _python(
        RSS_ANON
        + textwrap.dedent(
            """
        from gateway.memory import release_free_memory
        # 80 MiB of 20 KiB blocks; every 16th stays, so the freed ones are holes inside the
        # heap that free() alone does not give back.
        blocks = [b"x" * 20_000 for _ in range(4000)]
        kept = blocks[15::16]
        del blocks
        before = rss_anon_kib()
        assert release_free_memory()
        after = rss_anon_kib()
        print(before, after, len(kept))
        """
        )
    )
    before, after, _ = map(int, out.split())
    assert before - after > 40_000, (before, after)


@glibc_only
def test_tune_malloc_maps_large_blocks_apart_from_the_heap() -> None:
    code = MALLINFO + textwrap.dedent(
        """
        import sys
        from gateway.memory import tune_malloc

        if sys.argv[1] == "tuned":
            assert tune_malloc()
        # Freeing a mapped block raises glibc's default threshold to its size (dynamic mode).
        first = b"y" * 2_000_000
        del first
        before = libc.mallinfo2().hblks
        block = b"z" * 1_000_000  # more than the heap's top has free: mapped, or the heap grows
        print(libc.mallinfo2().hblks - before)
        """
    )
    for mode, mapped in (("tuned", 1), ("default", 0)):
        assert int(_python(code, mode)) == mapped, mode


@glibc_only
@pytest.mark.parametrize(
    "setting",
    [
        {"MALLOC_MMAP_THRESHOLD_": str(4 * 1024 * 1024)},
        {"GLIBC_TUNABLES": f"glibc.malloc.mmap_threshold={4 * 1024 * 1024}"},
    ],
)
def test_operator_settings_for_malloc_are_left_alone(setting: dict[str, str]) -> None:
    code = MALLINFO + textwrap.dedent(
        """
        from gateway.memory import tune_malloc

        assert tune_malloc()
        block = b"q" * 1_000_000
        print(libc.mallinfo2().hblks)
        """
    )
    # Under the operator's 4 MiB threshold the 1 MB block is taken from the heap.
    assert int(_python(code, env={**_CLEAN_ENV, **setting})) == 0


async def test_trim_periodically_releases_until_cancelled(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    thrice = asyncio.Event()
    loop = asyncio.get_running_loop()

    def release() -> bool:
        calls.append(1)
        if len(calls) == 3:
            loop.call_soon_threadsafe(thrice.set)
        return True

    monkeypatch.setattr(memory, "release_free_memory", release)
    monkeypatch.setattr(memory, "_malloc_trim", lambda: print)
    task = asyncio.create_task(memory.trim_periodically(0.01))
    await asyncio.wait_for(thrice.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    settled = len(calls)
    await asyncio.sleep(0.05)
    assert len(calls) == settled


async def test_without_glibc_nothing_is_done(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "_glibc", lambda: None)
    assert memory.release_free_memory() is False
    assert memory.tune_malloc() is False
    # Returns at once instead of looping.
    await asyncio.wait_for(memory.trim_periodically(0.01), 1)
