"""Subject links (the way from a person to the pseudonym the records carry) and retention in SQL."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from gateway.log.entry import LogEntry
from gateway.store._rows import ms as _ms
from gateway.store.base import RetentionTerms, StoredConsent
from gateway.store.sql.runner import SqlRunner, log_values
from gateway.store.sql.txn import Txn, count, row, rows

__all__ = ["RETENTION_KINDS", "SubjectSql"]

# The record kinds a retention run removes, in the order it logs them.
RETENTION_KINDS = (
    "consents",
    "expectations",
    "break_glass",
    "officer_sessions",
    "officer_links",
    "cases",
    "case_network",
    "household",
    "birth_dates",
)


# Records about a person that erasing its link removes (docs/retention.md, "What erasure removes").
_ERASED_WITH_THE_LINK = ("consents", "subject_birth_dates", "household", "expectations")


def _linked(link_key: str) -> Txn[str | None]:
    r = yield from row("SELECT pseudonym FROM subject_links WHERE link_key = ?", link_key)
    return None if r is None else str(r[0])


def _is_legacy(legacy: str) -> Txn[bool]:
    r = yield from row("SELECT 1 FROM legacy_subjects WHERE pseudonym = ?", legacy)
    return r is not None


def _per_purpose(table: str, key: str, column: str, terms: RetentionTerms) -> Txn[int]:
    """Delete rows of `table` whose `column` (a closing moment) lies before their purpose's term;
    then, with the longest term, those of purposes the catalogue no longer holds."""
    removed = 0
    cutoffs = [(p, _ms(t)) for p, t in sorted(terms.closed_before.items())]
    for purpose, cutoff in [*cutoffs, (None, _ms(terms.closed_before_otherwise))]:
        if removed >= terms.batch:
            break
        # The last pass covers every purpose with the longest term: for a purpose the catalogue
        # holds, its own (shorter or equal) term has removed those rows already.
        which = "" if purpose is None else "purpose = ? AND "
        args: list[object] = [] if purpose is None else [purpose]
        removed += yield from count(
            f"DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM {table} WHERE {which}"
            f"{column} IS NOT NULL AND {column} < ? LIMIT ?{{skip_locked}})",
            *args,
            cutoff,
            terms.batch - removed,
        )
    return removed


def _remove_inactive_cases(terms: RetentionTerms) -> Txn[dict[str, int]]:
    """Remove a batch of cases last active before their term, none of whose expectations is
    open, with their network and household rows; the count of each."""
    # SKIP LOCKED: a case a writer has touched (it does so first, see `touch_cases`) is busy, so
    # it is not inactive; the network and household rows of a case locked here are written by
    # nobody else until the run commits.
    found = yield from rows(
        "SELECT case_id FROM cases WHERE last_activity_ms < ? AND NOT EXISTS ("
        "SELECT 1 FROM expectations e WHERE e.case_id = cases.case_id AND e.closed_ms IS NULL) "
        "ORDER BY last_activity_ms, case_id LIMIT ?{skip_locked}",
        _ms(terms.cases_inactive_before),
        terms.batch,
    )
    removed = {"cases": 0, "case_network": 0, "household": 0}
    for case_id in sorted(str(r[0]) for r in found):
        removed["case_network"] += yield from count(
            "DELETE FROM case_network WHERE case_id = ?", case_id
        )
        removed["household"] += yield from count("DELETE FROM household WHERE case_id = ?", case_id)
        # A case's closures and reopenings (schema 12) are part of the case and go with it.
        yield from count("DELETE FROM case_events WHERE case_id = ?", case_id)
        removed["cases"] += yield from count("DELETE FROM cases WHERE case_id = ?", case_id)
    return removed


def _remove_unneeded_birth_dates(terms: RetentionTerms) -> Txn[int]:
    """Remove a batch of held birth dates recorded before their term whose subject has no
    consent, household row or open expectation left (run after those kinds' own removals)."""
    return (
        yield from count(
            "DELETE FROM subject_birth_dates WHERE subject IN (SELECT b.subject "
            "FROM subject_birth_dates b WHERE b.recorded_ms < ? "
            "AND NOT EXISTS (SELECT 1 FROM consents c WHERE c.subject = b.subject) "
            "AND NOT EXISTS (SELECT 1 FROM household h WHERE h.subject = b.subject) "
            "AND NOT EXISTS (SELECT 1 FROM expectations e WHERE e.subject = b.subject "
            "AND e.closed_ms IS NULL) LIMIT ?{skip_locked})",
            _ms(terms.birth_dates_recorded_before),
            terms.batch,
        )
    )


class SubjectSql(SqlRunner):
    """Subject links, their erasure, and removing records whose retention has passed."""

    async def linked_pseudonym(self, link_key: str, legacy: str) -> str | None:
        def txn() -> Txn[str | None]:
            linked = yield from _linked(link_key)
            if linked is not None:
                return linked
            return legacy if (yield from _is_legacy(legacy)) else None

        return await self._query(txn, quick=True)

    async def link_subject(
        self,
        link_key: str,
        legacy: Callable[[], str],
        fresh: Callable[[], str],
        now: datetime,
    ) -> str:
        linked = await self._linked_only(link_key)
        if linked is not None:
            return linked
        old, new = legacy(), fresh()

        def txn() -> Txn[str]:
            chosen = old if (yield from _is_legacy(old)) else new
            # Of concurrent first uses one inserts; the others' inserts wait for its commit and
            # then do nothing, and the read that follows (a new snapshot on PostgreSQL's read
            # committed) answers the winner's pseudonym.
            yield from count(
                "INSERT INTO subject_links (link_key, pseudonym, linked_ms) VALUES (?, ?, ?) "
                "ON CONFLICT (link_key) DO NOTHING",
                link_key,
                chosen,
                _ms(now),
            )
            won = yield from _linked(link_key)
            assert won is not None  # inserted, or kept by the insert it conflicted with
            return won

        return await self._transact(txn)

    async def _linked_only(self, link_key: str) -> str | None:
        """The pseudonym linked to `link_key`, without the legacy list."""

        def txn() -> Txn[str | None]:
            return (yield from _linked(link_key))

        return await self._query(txn, quick=True)

    async def erase_subject_link(self, link_key: str, legacy: str, entry: LogEntry) -> int | None:
        values = log_values([entry])

        def txn() -> Txn[int | None]:
            linked = yield from _linked(link_key)
            unlinked = yield from count("DELETE FROM subject_links WHERE link_key = ?", link_key)
            unlisted = yield from count("DELETE FROM legacy_subjects WHERE pseudonym = ?", legacy)
            if not unlinked and not unlisted:
                return None
            # The records the gateway may change go with the link: each ties the pseudonym to
            # something a partner knows (a giver's name, a birth date, a case's child_ref), so
            # keeping them would leave a way back to the person and every entry under it.
            # The log's entries stay (they are verified against their leaves); so do messages
            # still waiting in an inbox (acknowledged to their sender, they are never dropped).
            for pseudonym in {linked if unlinked else None, legacy if unlisted else None} - {None}:
                for table in _ERASED_WITH_THE_LINK:
                    yield from count(f"DELETE FROM {table} WHERE subject = ?", pseudonym)
            return (yield from self._append(values))[0]

        return await self._transact(txn)

    async def consents_without_term(self, limit: int) -> list[StoredConsent]:
        def txn() -> Txn[list[StoredConsent]]:
            found = yield from rows(
                "SELECT consent_id, subject, recorded_by, record FROM consents "
                "WHERE term_known = ? ORDER BY consent_id LIMIT ?",
                False,
                limit,
            )
            return [StoredConsent(r[0], r[1], r[2], bytes(r[3])) for r in found]

        return await self._query(txn)

    async def set_consent_terms(self, terms: Sequence[tuple[str, datetime | None]]) -> None:
        def txn() -> Txn[None]:
            for consent_id, retain_until in terms:
                yield from count(
                    "UPDATE consents SET retain_ms = ?, term_known = ? "
                    "WHERE consent_id = ? AND term_known = ?",
                    None if retain_until is None else _ms(retain_until),
                    True,
                    consent_id,
                    False,
                )

        await self._transact(txn)

    async def remove_expired_records(
        self, terms: RetentionTerms, make_entry: Callable[[str, int], LogEntry]
    ) -> dict[str, int]:
        def txn() -> Txn[dict[str, int]]:
            # SKIP LOCKED: a row another instance is removing (or a caller is changing) is left
            # to that transaction, so no removal is counted twice. Cases first: removing their
            # household rows is the run's only wait on a row lock (an erasure's), so the run
            # holds nothing else an erasure could wait for at that moment.
            cases = yield from _remove_inactive_cases(terms)
            removed = {
                "consents": (
                    yield from count(
                        "DELETE FROM consents WHERE consent_id IN (SELECT consent_id FROM consents "
                        "WHERE retain_ms IS NOT NULL AND retain_ms <= ? LIMIT ?{skip_locked})",
                        _ms(terms.now),
                        terms.batch,
                    )
                ),
                "expectations": (
                    yield from _per_purpose("expectations", "expectation_id", "closed_ms", terms)
                ),
                "break_glass": (
                    yield from _per_purpose("break_glass", "exchange_id", "reviewed_ms", terms)
                ),
                "officer_sessions": (
                    yield from count(
                        "DELETE FROM officer_sessions WHERE session_hash IN (SELECT session_hash "
                        "FROM officer_sessions WHERE seen_ms < ? LIMIT ?{skip_locked})",
                        _ms(terms.sessions_seen_before),
                        terms.batch,
                    )
                ),
                "officer_links": (
                    yield from count(
                        "DELETE FROM officer_links WHERE link_hash IN (SELECT link_hash "
                        "FROM officer_links WHERE expires_ms <= ? LIMIT ?{skip_locked})",
                        _ms(terms.now),
                        terms.batch,
                    )
                ),
                **cases,
                "birth_dates": (yield from _remove_unneeded_birth_dates(terms)),
            }
            entries = [make_entry(kind, removed[kind]) for kind in RETENTION_KINDS if removed[kind]]
            yield from self._append(log_values(entries))
            return removed

        return await self._transact(txn)
