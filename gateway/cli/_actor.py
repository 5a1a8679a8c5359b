"""The operator names the acting officer (`--actor`) on the command line: one check for it."""

from __future__ import annotations

import re
import sys

from gateway.subject import looks_like_bsn

__all__ = ["actor_refused"]

_ACTOR = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


def actor_refused(actor: str) -> bool:
    """Say on stderr why `actor` cannot be written to the log, and return True; False if fine."""
    if _ACTOR.fullmatch(actor) and not looks_like_bsn(actor):
        return False
    print(
        "gateway: --actor must be 1-64 letters, digits, '.', '_', '@' or '-', and hold no "
        "number that could be a BSN (8 or more digits)",
        file=sys.stderr,
    )
    return True
