"""The reviewed catalogue of Dutch texts, and how an English text finds its Dutch one.

Every text a partner's professional reads (an error's `message` and `how_to_fix`, a violation's
`message`, the "may I share?" check's `explanation`) is written in English where it arises. A
`Text` pairs one English template with the Dutch template a reviewer wrote for it; nothing is
machine-translated. An English text is translated only when it matches one English template
exactly, from its first character to its last; the template's fields are then carried into the
Dutch template:

- `{name}` is copied as it is: an identifier, a code, a number, a date, a JSON path.
- `{name:phrase}` is itself English words (who must consent, why a consent falls short); it is
  translated through the catalogue in turn, and the whole text has no Dutch if it has none.
- `{name:sentences}` is a run of English sentences (each ending in "."), each translated so.
- `{name:list}` is a list of phrases separated by "; ", each translated so (the list is split
  before its items are matched, so an item's template never swallows the items after it).

Literal braces are written doubled, as in `str.format` (`{{case_id}}` for a path's `{case_id}`).
When several templates match, the one with the most literal text wins (the most specific).
A text without a match has no Dutch: the caller then answers wholly in English, never in a mix.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from string import Formatter
from typing import Final

__all__ = ["Catalogue", "Text", "template_fields"]

_KINDS: Final = frozenset({"", "phrase", "sentences", "list"})
# Bounds on the work one text may cost, whoever wrote the words inside it (an unknown field's
# name is the caller's): a value, a phrase or a whole text longer than these, or phrases nested
# deeper, has no Dutch, and the answer falls back to English. Real texts stay far below them.
MAX_TEXT: Final = 20_000
MAX_VALUE: Final = 400
MAX_DEPTH: Final = 4
_SENTENCE_END: Final = re.compile(r"(?<=\.)\s+")


@dataclass(frozen=True, slots=True)
class Text:
    """One English template and its reviewed Dutch counterpart."""

    en: str
    nl: str
    # A template that only joins other texts ("{a:phrase} and {b:phrase}"): it translates a
    # joined text, but is no refusal's own template (`template_for` passes it over).
    joins: bool = False


def template_fields(template: str) -> list[tuple[str, str]]:
    """The fields of a template in order, as (name, kind); raises ValueError when malformed."""
    found = []
    for _, name, spec, conversion in Formatter().parse(template):
        if name is None:
            continue
        if not name.isidentifier() or conversion is not None or (spec or "") not in _KINDS:
            raise ValueError(f"malformed field {{{name}}} in template {template!r}")
        found.append((name, spec or ""))
    return found


@dataclass(frozen=True, slots=True)
class _Compiled:
    text: Text
    pattern: re.Pattern[str]
    prefix: str
    literal_length: int
    kinds: dict[str, str] = field(default_factory=dict)


def _compile(text: Text) -> _Compiled:
    regex, seen, kinds = [], set(), {}
    literal_length = 0
    prefix: str | None = None
    for literal, name, spec, _ in Formatter().parse(text.en):
        regex.append(re.escape(literal))
        literal_length += len(literal)
        if prefix is None:
            prefix = literal
        if name is None:
            continue
        if name in seen:
            regex.append(f"(?P={name})")
        else:
            # Bounded, so that a failing match costs at most the value bound per position; a run
            # of sentences or a list is unbounded but split before its items are matched.
            bound = "" if spec in ("sentences", "list") else str(MAX_VALUE)
            regex.append(f"(?P<{name}>.{{1,{bound}}}?)")
            seen.add(name)
        kinds[name] = spec or ""
    template_fields(text.en)
    dutch = template_fields(text.nl)
    missing = {name for name, _ in dutch} - seen
    if missing:
        raise ValueError(f"the Dutch text of {text.en!r} uses fields it lacks: {sorted(missing)}")
    for name, kind in dutch:
        if kinds[name] != kind:
            raise ValueError(f"field {name!r} of {text.en!r} has another kind in its Dutch text")
    return _Compiled(
        text, re.compile("".join(regex), re.DOTALL), prefix or "", literal_length, kinds
    )


class Catalogue:
    """Dutch for English texts, looked up by exact template match."""

    def __init__(self, texts: Iterable[Text]) -> None:
        compiled = [_compile(text) for text in texts]
        english = [c.text.en for c in compiled]
        duplicates = sorted({en for en in english if english.count(en) > 1})
        if duplicates:
            raise ValueError(f"English templates listed twice: {duplicates}")
        # Most literal text first: the most specific template wins.
        self._entries: tuple[_Compiled, ...] = tuple(
            sorted(compiled, key=lambda c: -c.literal_length)
        )

    def __iter__(self) -> Iterator[Text]:
        return (entry.text for entry in self._entries)

    def template_for(self, english: str) -> Text | None:
        """The entry whose English template matches `english` wholly, or None."""
        for entry in self._entries:
            if entry.text.joins:
                continue
            if english.startswith(entry.prefix) and entry.pattern.fullmatch(english):
                return entry.text
        return None

    def covers(self, sample: str, placeholder: str) -> bool:
        """Whether a template matches `sample` with every field standing on placeholders only.

        `sample` is a refusal's source text with each value made elsewhere written as
        `placeholder`; a field that would have to swallow literal English words (a generic
        template matching a text no reviewer wrote Dutch for) does not count as covering it.
        """
        one = f"(?:{re.escape(placeholder)})+"  # two values side by side read "xx"
        field = re.compile(f"{one}(?: {one})*")
        for entry in self._entries:
            if entry.text.joins or not sample.startswith(entry.prefix):
                continue
            match = entry.pattern.fullmatch(sample)
            if match is not None and all(
                field.fullmatch(match.group(name)) for name in entry.kinds
            ):
                return True
        return False

    def dutch(self, english: str, depth: int = 0) -> str | None:
        """The Dutch text for an English one, or None when the catalogue has none."""
        if len(english) > MAX_TEXT or depth > MAX_DEPTH:
            return None
        for entry in self._entries:
            if not english.startswith(entry.prefix):
                continue
            match = entry.pattern.fullmatch(english)
            if match is None:
                continue
            rendered = self._render(entry, match, depth)
            if rendered is not None:
                return rendered
        return None

    def _render(self, entry: _Compiled, match: re.Match[str], depth: int) -> str | None:
        values: dict[str, str] = {}
        for name, kind in entry.kinds.items():
            value = match.group(name)
            if kind == "phrase":
                translated = self.dutch(value, depth + 1)
            elif kind == "sentences":
                translated = self._each(_SENTENCE_END.split(value.strip()), " ", depth)
            elif kind == "list":
                translated = self._each(value.split("; "), "; ", depth)
            else:
                translated = value
            if translated is None:
                return None
            values[name] = translated
        return "".join(
            literal + (values[name] if name is not None else "")
            for literal, name, _, _ in Formatter().parse(entry.text.nl)
        )

    def _each(self, parts: list[str], separator: str, depth: int) -> str | None:
        out = []
        for part in parts:
            if len(part) > MAX_VALUE:
                return None
            dutch = self.dutch(part, depth + 1)
            if dutch is None:
                return None
            out.append(dutch)
        return separator.join(out)
