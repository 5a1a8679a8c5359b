"""The figures of `make mutate`: mutmut's per-mutant results, summed per module of the core.

Reads `mutmut results --all true` on standard input and the survivors judged equivalent from
docs/mutation-testing.md (each named in backticks at the start of a table row), and prints one
row per module: mutants generated, killed, survived, equivalent, timeout, and the kill rate over
the mutants that ran and change behaviour, (killed + timeout) / (generated - equivalent - not
checked). A mutant that no selected test reaches ("no tests") counts as a survivor: it changes
behaviour nobody checks.
"""

from __future__ import annotations

import fnmatch
import re
import sys
from collections import Counter
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "mutation-testing.md"

# The Makefile's sessions, in its order: a module's name and the mutants it runs.
MODULES: tuple[tuple[str, str], ...] = (
    ("subject", "gateway.subject.*"),
    ("replay", "gateway.store.*use_jti__mutmut_*"),
    ("auth", "gateway.auth.*"),
    ("log", "gateway.log.*"),
    ("policy", "gateway.policy.*"),
    # The payload check's compiled schemas (gateway/policy/compiled.py until the restructure).
    ("compiled", "gateway.config.compiled_schema.*"),
    ("consent", "consent.*"),
)
_RESULT = re.compile(r"^\s*(\S+__mutmut_\d+): (.+?)\s*$")
_EQUIVALENT = re.compile(r"^\|\s*`([^`]+__mutmut_\d+)`")


def equivalents(doc: str) -> set[str]:
    """The mutants the note lists as equivalent."""
    return {m.group(1) for line in doc.splitlines() if (m := _EQUIVALENT.match(line))}


def summarise(results: str, equivalent: set[str]) -> list[dict[str, object]]:
    """One row of figures per module, from `mutmut results --all true` output."""
    statuses: dict[str, str] = {}
    for line in results.splitlines():
        if m := _RESULT.match(line):
            statuses[m.group(1)] = m.group(2)
    rows: list[dict[str, object]] = []
    for module, pattern in MODULES:
        names = [n for n in statuses if fnmatch.fnmatchcase(n, pattern)]
        if not names:
            continue
        count = Counter(statuses[n] for n in names)
        # Only a mutant that ran and survived can be judged equivalent.
        eq = sum(
            1
            for n in names
            if n in equivalent and statuses[n] not in {"killed", "timeout", "not checked"}
        )
        killed, timeout = count["killed"], count["timeout"]
        survived = len(names) - killed - timeout - count["not checked"]
        behaviour = len(names) - count["not checked"] - eq
        rows.append(
            {
                "module": module,
                "generated": len(names),
                "killed": killed,
                "survived": survived,
                "equivalent": eq,
                "timeout": timeout,
                "not checked": count["not checked"],
                "kill rate": f"{100 * (killed + timeout) / behaviour:.1f}%" if behaviour else "-",
            }
        )
    return rows


def main() -> None:
    doc = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    rows = summarise(sys.stdin.read(), equivalents(doc))
    if not rows:
        print("make mutate: no mutmut results (did a session run?)")
        return
    keys = list(rows[0])
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for row in rows:
        print("| " + " | ".join(str(row[k]) for k in keys) + " |")


if __name__ == "__main__":
    main()
