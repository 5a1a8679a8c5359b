"""Random identifiers and salts: unguessable, each drawn once."""

from __future__ import annotations

import base64
import os
import threading

__all__ = ["new_id", "random_bytes"]


class _RandomPool:
    """Bytes from the OS's random source, fetched a page at a time and each handed out once.

    Every os.urandom call releases the interpreter lock, and under load taking it back costs
    far more than the call itself (the storage threads hold it meanwhile); an exchange needs
    five random values, so one system call now serves about fifty exchanges.
    """

    __slots__ = ("_buffer", "_lock", "_used")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buffer = b""
        self._used = 0

    def take(self, size: int) -> bytes:
        with self._lock:
            if self._used + size > len(self._buffer):
                self._buffer = os.urandom(max(4096, size))
                self._used = 0
            start = self._used
            self._used += size
            return self._buffer[start : self._used]

    def forget(self) -> None:
        """Drop what is left: a forked worker must never hand out its parent's bytes."""
        self._buffer = b""
        self._used = 0
        self._lock = threading.Lock()


_POOL = _RandomPool()
os.register_at_fork(after_in_child=_POOL.forget)


def random_bytes(size: int) -> bytes:
    """Unpredictable bytes (from os.urandom) for identifiers and salts; never reused."""
    return _POOL.take(size)


def new_id(prefix: str) -> str:
    """A random, unguessable identifier such as `ex_3J...` (128 bits)."""
    return f"{prefix}_{base64.urlsafe_b64encode(random_bytes(16)).rstrip(b'=').decode('ascii')}"
