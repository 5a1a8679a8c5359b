"""The command lines: `gateway` (`main`) and a partner's `gateway-client` (`client.main`).

`gateway`'s parser is in `operator`, each of its command groups in one module (`serve`, `log`,
`keys`, ...). Modules here only parse arguments, call the code below them and print; what a
command does lives there.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run `gateway`; its modules load only now, so that `gateway-client` does not load them."""
    from gateway.cli.operator import main as run_gateway

    return run_gateway(argv)
