"""The Storage contract, one suite for every back end (SQLite file and PostgreSQL schema).

Tests that take `storage` / `storage_backend` run once per back end; "two instances" means two
SqliteStorage on one file (as worker processes share it) or two PostgresStorage pools on one
schema (as gateway instances on several machines share it).
"""

from __future__ import annotations

import asyncio
import inspect
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.errors import StorageUnavailable
from gateway.log.entry import LogEntry, Sender
from gateway.store.base import (
    BreakGlassRecord,
    Case,
    ExchangeEffects,
    Expectation,
    HouseholdChild,
    LogFilter,
    NetworkMember,
    PendingNotification,
    SchemaVersionError,
    Storage,
    StoredCheckpoint,
    StoredConsent,
    StoredMessage,
)
from gateway.store.postgres import PostgresSequencerLock, PostgresStorage
from gateway.store.postgres_schema import POSTGRES_MIGRATIONS, POSTGRES_SCHEMA_VERSION
from gateway.store.schema import SCHEMA_VERSION, SQLITE_MIGRATIONS
from gateway.store.sql.dialect import POSTGRESQL, SQLITE
from gateway.store.sqlite import SqliteStorage
from tests.storage_fixtures import (  # noqa: F401  (pytest finds the fixtures by name)
    PostgresBackend,
    SqliteBackend,
    postgres_backend_fixture,
    storage_backend_fixture,
    storage_fixture,
)

Backend = SqliteBackend | PostgresBackend

T0 = datetime(2026, 11, 25, 10, 0, 0, 123000, tzinfo=UTC)


def entry(
    tag: str,
    *,
    decision: str = "disclosed",
    at: datetime = T0,
    subject: str | None = "pseudo-a",
    sender: str | None = "swt-denhelder",
    recipient: str | None = "zorg-noord",
    purpose: str | None = "zorgsignaal",
) -> LogEntry:
    return LogEntry(
        time=at,
        decision=decision,
        exchange_id=f"ex-{tag}",
        purpose=purpose,
        sender=None if sender is None else Sender(sender, "actor-1", "procesregisseur"),
        recipient=recipient,
        subject=subject,
        details={"tag": tag},
    )


def message(
    message_id: str,
    recipient: str = "zorg-noord",
    *,
    retain_until: datetime = T0 + timedelta(days=30),
) -> StoredMessage:
    return StoredMessage(
        message_id=message_id,
        recipient=recipient,
        subject="pseudo-a",
        exchange_id=f"ex-{message_id}",
        disclosure_id=f"dis-{message_id}",
        purpose="zorgsignaal",
        sender_partner="swt-denhelder",
        sender_role="procesregisseur",
        case_id="case-7",
        in_reply_to=None,
        sent_at=T0,
        retain_until=retain_until,
        sealing="at-rest",
        body=b"\x00sealed\xff" + message_id.encode(),
    )


def receipt(m: StoredMessage) -> LogEntry:
    return LogEntry(
        time=T0,
        decision="delivered",
        exchange_id=m.exchange_id,
        recipient=m.recipient,
        subject=m.subject,
        details={"message_id": m.message_id},
    )


def purge_record(m: StoredMessage) -> LogEntry:
    return LogEntry(
        time=T0,
        decision="purged",
        reason="retention_expired",
        exchange_id=m.exchange_id,
        recipient=m.recipient,
        subject=m.subject,
        details={"message_id": m.message_id},
    )


def expectation(
    expectation_id: str,
    *,
    owed_by: str = "gi-noordholland",
    owed_to: str = "swt-denhelder",
    purpose: str = "statusbericht",
    due_in_days: int = 15,
) -> Expectation:
    return Expectation(
        expectation_id=expectation_id,
        purpose=purpose,
        origin_purpose="aanmelding-gi",
        origin_exchange_id=f"ex-{expectation_id}",
        case_id="case-7",
        owed_by=owed_by,
        owed_to=owed_to,
        subject="pseudo-a",
        child_ref=None,
        opened_at=T0,
        due_at=T0 + timedelta(days=due_in_days),
        constraints=b"\x02sealed-constraints",
    )


def break_glass(exchange_id: str, *, minutes: int = 0) -> BreakGlassRecord:
    return BreakGlassRecord(
        exchange_id=exchange_id,
        sender="zorg-noord",
        purpose="zorgsignaal",
        created_at=T0 + timedelta(minutes=minutes),
        sealed=b"\x03sealed-justification",
    )


async def tags(storage: Storage, flt: LogFilter, after: int | None = None) -> list[str]:
    rows = await storage.search_log(flt, after=after, limit=1000)
    return [row.entry.details["tag"] for row in rows]


async def logged(storage: Storage, decision: str) -> list[str]:
    """The message ids of every logged entry with this decision."""
    rows = await storage.search_log(LogFilter(decision=decision), after=None, limit=1000)
    return [row.entry.details["message_id"] for row in rows]


# -- log ------------------------------------------------------------------------------------------


async def test_appended_entries_get_consecutive_indices_from_zero_in_order(
    storage: Storage,
) -> None:
    first = [entry("a"), entry("b"), entry("c")]
    second = [entry("d"), entry("e")]

    assert await storage.log_size() == 0
    assert await storage.append_log(first) == [0, 1, 2]
    assert await storage.append_log(second) == [3, 4]
    assert await storage.log_size() == 5

    rows = await storage.log_rows(0, 5)
    assert [row.index for row in rows] == [0, 1, 2, 3, 4]
    assert [row.leaf for row in rows] == [e.canonical() for e in first + second]
    assert rows[3].entry == second[0]


async def test_appending_no_entries_assigns_no_index(storage: Storage) -> None:
    await storage.append_log([entry("a")])

    assert await storage.append_log([]) == []
    assert await storage.log_size() == 1
    assert await storage.append_log([entry("b")]) == [1]


async def test_concurrent_appends_from_many_tasks_form_one_gap_free_sequence(
    storage: Storage,
) -> None:
    batches = [[entry(f"{task}-{i}") for i in range(1 + task % 3)] for task in range(40)]

    results = await asyncio.gather(*(storage.append_log(batch) for batch in batches))

    await assert_one_gap_free_sequence(storage, batches, results)


async def test_concurrent_appends_from_two_instances_form_one_gap_free_sequence(
    storage_backend: Backend,
) -> None:
    one, two = await storage_backend.open(), await storage_backend.open()
    batches = [[entry(f"{task}-{i}") for i in range(1 + task % 4)] for task in range(60)]

    results = await asyncio.gather(
        *((one if n % 2 else two).append_log(batch) for n, batch in enumerate(batches))
    )

    await assert_one_gap_free_sequence(one, batches, results)
    assert await two.log_size() == await one.log_size()


async def assert_one_gap_free_sequence(
    storage: Storage, batches: list[list[LogEntry]], results: list[list[int]]
) -> None:
    total = sum(len(batch) for batch in batches)
    assert sorted(i for indices in results for i in indices) == list(range(total))
    assert await storage.log_size() == total
    leaves = {row.index: row.leaf for row in await storage.log_rows(0, total)}
    for batch, indices in zip(batches, results, strict=True):
        assert indices == list(range(indices[0], indices[0] + len(batch)))
        assert [leaves[i] for i in indices] == [e.canonical() for e in batch]


async def test_log_rows_returns_exactly_the_half_open_range(storage: Storage) -> None:
    await storage.append_log([entry(str(i)) for i in range(10)])

    assert [r.index for r in await storage.log_rows(3, 7)] == [3, 4, 5, 6]
    assert [r.index for r in await storage.log_rows(8, 20)] == [8, 9]
    assert await storage.log_rows(5, 5) == []
    assert await storage.log_rows(10, 12) == []


async def test_search_log_filters_by_subject_purpose_and_decision(storage: Storage) -> None:
    await storage.append_log(
        [
            entry("a", subject="pseudo-a", purpose="zorgsignaal"),
            entry("b", subject="pseudo-b", purpose="zorgsignaal", decision="refused"),
            entry("c", subject="pseudo-a", purpose="statusbericht", decision="refused"),
            entry("d", subject=None, purpose=None, decision="token_issued"),
        ]
    )

    assert await tags(storage, LogFilter(subject="pseudo-a")) == ["a", "c"]
    assert await tags(storage, LogFilter(purpose="zorgsignaal")) == ["a", "b"]
    assert await tags(storage, LogFilter(decision="refused")) == ["b", "c"]
    assert await tags(storage, LogFilter(subject="pseudo-a", decision="refused")) == ["c"]
    assert await tags(storage, LogFilter(subject="nobody")) == []
    assert await tags(storage, LogFilter()) == ["a", "b", "c", "d"]


async def test_search_log_finds_a_partner_as_sender_or_as_recipient(storage: Storage) -> None:
    await storage.append_log(
        [
            entry("sent", sender="school-de-es", recipient="zorg-noord"),
            entry("received", sender="swt-denhelder", recipient="school-de-es"),
            entry("other", sender="swt-denhelder", recipient="zorg-noord"),
            entry("nobody", sender=None, recipient=None),
        ]
    )

    assert await tags(storage, LogFilter(partner="school-de-es")) == ["sent", "received"]


async def test_search_log_time_window_includes_since_and_excludes_until(
    storage: Storage,
) -> None:
    await storage.append_log(
        [entry(str(minute), at=T0 + timedelta(minutes=minute)) for minute in range(5)]
    )

    window = LogFilter(since=T0 + timedelta(minutes=1), until=T0 + timedelta(minutes=3))
    assert await tags(storage, window) == ["1", "2"]
    assert await tags(storage, LogFilter(since=T0 + timedelta(minutes=4))) == ["4"]
    assert await tags(storage, LogFilter(until=T0 + timedelta(minutes=1))) == ["0"]


async def test_search_log_pages_with_an_after_cursor_and_a_limit(storage: Storage) -> None:
    await storage.append_log(
        [entry(str(i), subject="pseudo-a" if i % 2 else "pseudo-b") for i in range(10)]
    )
    flt = LogFilter(subject="pseudo-a")

    page = await storage.search_log(flt, after=None, limit=2)
    assert [r.index for r in page] == [1, 3]
    page = await storage.search_log(flt, after=page[-1].index, limit=2)
    assert [r.index for r in page] == [5, 7]
    page = await storage.search_log(flt, after=page[-1].index, limit=2)
    assert [r.index for r in page] == [9]
    assert await storage.search_log(flt, after=9, limit=2) == []


# -- tokens ---------------------------------------------------------------------------------------


async def test_second_use_of_a_jti_is_refused_as_a_replay(storage: Storage) -> None:
    expires = T0 + timedelta(minutes=5)

    assert await storage.use_jti("swt-denhelder", "jti-1", expires, T0) is True
    assert await storage.use_jti("swt-denhelder", "jti-1", expires, T0) is False
    assert await storage.use_jti("zorg-noord", "jti-1", expires, T0) is True
    assert await storage.use_jti("swt-denhelder", "jti-2", expires, T0) is True


async def test_a_jti_is_forgotten_once_its_assertion_has_expired(storage: Storage) -> None:
    expires = T0 + timedelta(minutes=5)
    await storage.use_jti("swt-denhelder", "jti-1", expires, T0)

    assert await storage.use_jti("swt-denhelder", "jti-1", expires, expires) is False
    later = expires + timedelta(milliseconds=1)
    assert await storage.use_jti("swt-denhelder", "jti-1", later + timedelta(minutes=5), later)


async def test_one_jti_used_concurrently_on_two_instances_is_accepted_once(
    storage_backend: Backend,
) -> None:
    one, two = await storage_backend.open(), await storage_backend.open()
    expires = T0 + timedelta(minutes=5)

    for round_ in range(10):
        jti = f"jti-{round_}"
        outcomes = await asyncio.gather(
            *((one if n % 2 else two).use_jti("swt-denhelder", jti, expires, T0) for n in range(6))
        )
        assert sorted(outcomes) == [False] * 5 + [True]


# -- consents -------------------------------------------------------------------------------------


async def test_added_consent_is_found_by_id_and_by_subject_and_is_logged(
    storage: Storage,
) -> None:
    first = StoredConsent("c-1", "pseudo-a", "swt-denhelder", b"\x01sealed-1")
    second = StoredConsent("c-2", "pseudo-a", "zorg-noord", b"\x01sealed-2")
    other = StoredConsent("c-3", "pseudo-b", "swt-denhelder", b"\x01sealed-3")

    assert await storage.add_consent(first, entry("c1", decision="consent_recorded")) == 0
    assert await storage.add_consent(second, entry("c2", decision="consent_recorded")) == 1
    await storage.add_consent(other, entry("c3", decision="consent_recorded"))

    assert await storage.get_consent("c-1") == first
    assert await storage.get_consent("c-404") is None
    found = await storage.consents_for_subject("pseudo-a")
    assert sorted(found, key=lambda c: c.consent_id) == [first, second]
    assert await storage.consents_for_subject("pseudo-z") == []
    assert await tags(storage, LogFilter(decision="consent_recorded")) == ["c1", "c2", "c3"]


async def test_replaced_consent_keeps_its_id_and_logs_the_change(storage: Storage) -> None:
    original = StoredConsent("c-1", "pseudo-a", "swt-denhelder", b"active")
    await storage.add_consent(original, entry("added", decision="consent_recorded"))
    withdrawn = replace(original, sealed_record=b"withdrawn")

    index = await storage.replace_consent(withdrawn, entry("gone", decision="consent_withdrawn"))

    assert index == 1
    assert await storage.get_consent("c-1") == withdrawn
    assert await storage.consents_for_subject("pseudo-a") == [withdrawn]
    assert await tags(storage, LogFilter(decision="consent_withdrawn")) == ["gone"]


async def test_consent_whose_insert_fails_leaves_no_log_entry(
    storage_backend: Backend, storage: Storage
) -> None:
    consent = StoredConsent("c-1", "pseudo-a", "swt-denhelder", b"sealed")
    await storage.add_consent(consent, entry("first", decision="consent_recorded"))

    with pytest.raises(storage_backend.integrity_error):
        await storage.add_consent(consent, entry("again", decision="consent_recorded"))

    assert await storage.log_size() == 1
    assert await storage.append_log([entry("next")]) == [1]


# -- exchanges and inbox --------------------------------------------------------------------------


async def test_recorded_exchange_logs_its_entries_and_queues_its_messages(
    storage: Storage,
) -> None:
    await storage.append_log([entry("before")])
    sent = [message("m-1"), message("m-2", "school-de-es")]

    indices = await storage.record_exchange([entry("x1"), entry("x2")], sent)

    assert indices == [1, 2]
    assert await tags(storage, LogFilter(), after=0) == ["x1", "x2"]
    [got] = await storage.inbox_page("zorg-noord", after=0, limit=10)
    assert got.seq > 0
    assert got == replace(sent[0], seq=got.seq)
    assert [m.message_id for m in await storage.inbox_page("school-de-es", after=0, limit=10)] == [
        "m-2"
    ]


async def test_failed_exchange_leaves_neither_log_entries_nor_messages_nor_an_index_gap(
    storage_backend: Backend, storage: Storage
) -> None:
    await storage.record_exchange([entry("ok")], [message("m-1")])

    with pytest.raises(storage_backend.integrity_error):
        # m-1 is already queued: the whole exchange must be undone.
        await storage.record_exchange(
            [entry("bad-1"), entry("bad-2")],
            [message("m-2"), message("m-1")],
            ExchangeEffects(open=(expectation("e-1"),), break_glass=break_glass("ex-bad")),
        )

    assert await storage.log_size() == 1
    assert [m.message_id for m in await storage.inbox_page("zorg-noord", after=0, limit=10)] == [
        "m-1"
    ]
    assert await storage.append_log([entry("next")]) == [1]
    assert await storage.expectations_for("gi-noordholland", open_only=False, limit=10) == []
    assert await storage.break_glass_records(status=None, limit=10) == []


async def test_inbox_page_lists_only_the_recipients_messages_in_order_after_the_cursor(
    storage: Storage,
) -> None:
    for n in range(5):
        await storage.record_exchange(
            [entry(str(n))], [message(f"mine-{n}"), message(f"theirs-{n}", "school-de-es")]
        )

    page = await storage.inbox_page("zorg-noord", after=0, limit=2)
    assert [m.message_id for m in page] == ["mine-0", "mine-1"]
    assert page[0].seq < page[1].seq
    page = await storage.inbox_page("zorg-noord", after=page[-1].seq, limit=2)
    assert [m.message_id for m in page] == ["mine-2", "mine-3"]
    page = await storage.inbox_page("zorg-noord", after=page[-1].seq, limit=2)
    assert [m.message_id for m in page] == ["mine-4"]
    assert await storage.inbox_page("zorg-noord", after=page[-1].seq, limit=2) == []
    assert await storage.inbox_page("gi-noordholland", after=0, limit=10) == []


async def test_reader_paging_while_two_instances_record_sees_every_message_once(
    storage_backend: Backend,
) -> None:
    one, two = await storage_backend.open(), await storage_backend.open()
    sent = [f"m-{n}" for n in range(60)]
    seen: list[str] = []
    cursor = 0

    async def page_once() -> None:
        nonlocal cursor
        page = await one.inbox_page("zorg-noord", after=cursor, limit=7)
        seen.extend(m.message_id for m in page)
        if page:
            cursor = page[-1].seq

    async def writers() -> None:
        await asyncio.gather(
            *(
                (one if n % 2 else two).record_exchange([entry(mid)], [message(mid)])
                for n, mid in enumerate(sent)
            )
        )

    writing = asyncio.create_task(writers())
    while not writing.done():
        await page_once()
        await asyncio.sleep(0)
    await writing
    for _ in range(len(sent)):
        await page_once()

    # A cursor that skipped a message committed late would leave it out of `seen` for good.
    assert sorted(seen) == sorted(sent)


async def test_acknowledged_message_is_removed_and_its_receipt_logged(storage: Storage) -> None:
    await storage.record_exchange([entry("x")], [message("m-1"), message("m-2")])

    index = await storage.ack_message("zorg-noord", "m-1", receipt)

    assert index == 1
    [row] = await storage.log_rows(1, 2)
    assert row.entry == receipt(message("m-1"))
    assert [m.message_id for m in await storage.inbox_page("zorg-noord", after=0, limit=10)] == [
        "m-2"
    ]
    assert await storage.ack_message("zorg-noord", "m-1", receipt) is None
    assert await logged(storage, "delivered") == ["m-1"]


async def test_nobody_but_the_recipient_can_acknowledge_a_message(storage: Storage) -> None:
    await storage.record_exchange([entry("x")], [message("m-1")])

    assert await storage.ack_message("school-de-es", "m-1", receipt) is None
    assert await storage.ack_message("zorg-noord", "m-404", receipt) is None
    assert await storage.log_size() == 1
    assert len(await storage.inbox_page("zorg-noord", after=0, limit=10)) == 1


async def test_two_concurrent_acks_of_one_message_log_exactly_one_receipt(
    storage_backend: Backend,
) -> None:
    one, two = await storage_backend.open(), await storage_backend.open()
    ids = [f"m-{n}" for n in range(10)]
    await one.record_exchange([entry("x")], [message(mid) for mid in ids])

    for mid in ids:
        outcomes = await asyncio.gather(
            one.ack_message("zorg-noord", mid, receipt),
            two.ack_message("zorg-noord", mid, receipt),
        )
        assert len([o for o in outcomes if o is not None]) == 1

    assert sorted(await logged(one, "delivered")) == sorted(ids)
    assert await one.inbox_page("zorg-noord", after=0, limit=100) == []


async def test_purge_removes_only_messages_past_retention_and_logs_each(
    storage: Storage,
) -> None:
    now = T0 + timedelta(days=30)
    await storage.record_exchange(
        [entry("x")],
        [
            message("old", retain_until=now - timedelta(seconds=1)),
            message("due", "school-de-es", retain_until=now),
            message("kept", retain_until=now + timedelta(milliseconds=1)),
        ],
    )

    assert await storage.purge_expired(now, purge_record) == 2

    assert sorted(await logged(storage, "purged")) == ["due", "old"]
    assert [m.message_id for m in await storage.inbox_page("zorg-noord", after=0, limit=10)] == [
        "kept"
    ]
    assert await storage.purge_expired(now, purge_record) == 0
    assert await storage.log_size() == 3


async def test_two_instances_purging_at_once_log_each_purge_once(
    storage_backend: Backend,
) -> None:
    one, two = await storage_backend.open(), await storage_backend.open()
    now = T0 + timedelta(days=30)
    expired = [f"m-{n}" for n in range(40)]
    for chunk in range(0, len(expired), 8):
        await one.record_exchange(
            [entry(str(chunk))],
            [message(mid, retain_until=now) for mid in expired[chunk : chunk + 8]],
        )

    counts = await asyncio.gather(
        one.purge_expired(now, purge_record),
        two.purge_expired(now, purge_record),
        one.purge_expired(now, purge_record),
        two.purge_expired(now, purge_record),
    )
    leftover = await two.purge_expired(now, purge_record)

    assert sum(counts) + leftover == len(expired)
    assert sorted(await logged(one, "purged")) == sorted(expired)


async def test_purge_and_ack_racing_for_one_message_log_it_only_once(
    storage_backend: Backend,
) -> None:
    one, two = await storage_backend.open(), await storage_backend.open()
    now = T0 + timedelta(days=30)
    ids = [f"m-{n}" for n in range(10)]
    await one.record_exchange([entry("x")], [message(mid, retain_until=now) for mid in ids])

    for mid in ids:
        await asyncio.gather(
            one.purge_expired(now, purge_record), two.ack_message("zorg-noord", mid, receipt)
        )

    outcomes = await logged(one, "purged") + await logged(one, "delivered")
    assert sorted(outcomes) == sorted(ids)


# -- case networks --------------------------------------------------------------------------------


def membership(member: NetworkMember, decision: str = "case_member_added") -> LogEntry:
    return LogEntry(
        time=member.registered_at,
        decision=decision,
        sender=Sender(member.registered_by, "actor-1", "procesregisseur"),
        recipient=member.partner_id,
        case_id=member.case_id,
        details={"role": member.role},
    )


async def test_opening_a_case_stores_it_its_director_as_procesregisseur_and_one_log_entry(
    storage: Storage,
) -> None:
    case = Case("case_abc", "swt-denhelder", "WT-2026/0117", T0)
    director = NetworkMember(
        "case_abc", "swt-denhelder", "procesregisseur", None, "swt-denhelder", T0
    )

    index = await storage.open_case(case, director, membership(director, "case_opened"))

    assert await storage.get_case("case_abc") == case
    assert await storage.get_case("case_other") is None
    assert await storage.case_network("case_abc") == [director]
    [row] = await storage.log_rows(index, index + 1)
    assert (row.entry.decision, row.entry.case_id) == ("case_opened", "case_abc")


async def test_opening_a_case_under_an_existing_id_fails_and_logs_nothing(storage: Storage) -> None:
    case = Case("case_abc", "swt-denhelder", None, T0)
    director = NetworkMember(
        "case_abc", "swt-denhelder", "procesregisseur", None, "swt-denhelder", T0
    )
    await storage.open_case(case, director, membership(director, "case_opened"))
    size = await storage.log_size()

    with pytest.raises(Exception):  # noqa: B017, PT011  (each driver raises its own integrity error)
        await storage.open_case(
            replace(case, director="swt-other"), director, membership(director, "case_opened")
        )

    assert await storage.log_size() == size
    assert await storage.get_case("case_abc") == case


async def test_removing_a_member_logs_once_and_removing_an_absent_one_logs_nothing(
    storage: Storage,
) -> None:
    member = NetworkMember("case-7", "zorg-noord", "involved", None, "swt-denhelder", T0)
    await storage.register_involvement(member, membership(member))
    size = await storage.log_size()

    gone = membership(member, "case_member_removed")
    assert await storage.remove_involvement("case-7", "zorg-noord", gone) is True
    assert await storage.remove_involvement("case-7", "zorg-noord", gone) is False

    assert await storage.case_network("case-7") == []
    assert await storage.log_size() == size + 1


async def test_registering_involvement_reports_new_once_then_updates_role_and_contact(
    storage: Storage,
) -> None:
    member = NetworkMember(
        "case-7", "zorg-noord", "involved", '{"name": "J. Jansen"}', "swt-denhelder", T0
    )

    size = await storage.log_size()
    assert await storage.register_involvement(member, membership(member)) is True
    changed = replace(
        member, role="procesregisseur", contact=None, registered_at=T0 + timedelta(days=1)
    )
    assert await storage.register_involvement(changed, membership(changed)) is False
    assert await storage.log_size() == size + 2  # every change of membership is logged

    # The first registration's time and registrant stay; role and contact follow the update.
    assert await storage.case_network("case-7") == [
        replace(member, role="procesregisseur", contact=None)
    ]


async def test_case_network_lists_its_members_by_registration_time(storage: Storage) -> None:
    members = [
        NetworkMember("case-7", "zorg-noord", "involved", None, "swt-denhelder", T0),
        NetworkMember("case-7", "school-de-es", "referrer", None, "school-de-es", T0),
        NetworkMember("case-7", "gi-noordholland", "involved", None, "gi-noordholland", T0),
        NetworkMember("case-9", "zorg-noord", "involved", None, "swt-denhelder", T0),
    ]
    members[0] = replace(members[0], registered_at=T0 + timedelta(seconds=1))
    for member in members:
        await storage.register_involvement(member, membership(member))

    assert [m.partner_id for m in await storage.case_network("case-7")] == [
        "gi-noordholland",
        "school-de-es",
        "zorg-noord",
    ]
    assert await storage.case_network("case-404") == []


async def test_concurrent_first_registrations_on_two_instances_report_new_once(
    storage_backend: Backend,
) -> None:
    one, two = await storage_backend.open(), await storage_backend.open()

    for n in range(10):
        member = NetworkMember(f"case-{n}", "zorg-noord", "involved", None, "swt", T0)
        outcomes = await asyncio.gather(
            one.register_involvement(member, membership(member)),
            two.register_involvement(member, membership(member)),
        )
        assert sorted(outcomes) == [False, True]


def registration(child: HouseholdChild) -> LogEntry:
    return LogEntry(
        time=child.registered_at,
        decision="household_child_registered",
        sender=Sender(child.registered_by, "actor-1", "procesregisseur"),
        subject=child.subject,
        case_id=child.case_id,
    )


async def test_registering_a_household_child_reports_new_once_then_updates_its_subject(
    storage: Storage,
) -> None:
    child = HouseholdChild("case-7", "child-1", "pseudo-a", "swt-denhelder", T0)
    sibling = HouseholdChild("case-7", "child-0", "pseudo-b", "swt-denhelder", T0)
    elsewhere = HouseholdChild("case-9", "child-1", "pseudo-c", "swt-denhelder", T0)

    before = await storage.log_size()
    assert await storage.register_child(child, registration(child)) is True
    assert await storage.register_child(sibling, registration(sibling)) is True
    assert await storage.register_child(elsewhere, registration(elsewhere)) is True
    changed = replace(child, subject="pseudo-z", registered_by="zorg-noord")
    assert await storage.register_child(changed, registration(changed)) is False
    # Each registration is stored together with its own log entry.
    assert await storage.log_size() == before + 4

    assert await storage.household("case-7") == [sibling, replace(child, subject="pseudo-z")]
    assert await storage.household("case-404") == []


async def test_open_expectations_are_filtered_by_debtor_creditor_and_purpose_by_deadline(
    storage: Storage,
) -> None:
    await storage.add_expectations(
        [
            expectation("late", due_in_days=20),
            expectation("soon", due_in_days=5),
            expectation("other-creditor", owed_to="zorg-noord"),
            expectation("other-purpose", purpose="terugkoppeling"),
            expectation("not-ours", owed_by="school-de-es"),
        ]
    )

    def ids(found: list[Expectation]) -> list[str]:
        return [e.expectation_id for e in found]

    assert ids(await storage.open_expectations(owed_by="gi-noordholland")) == [
        "soon",
        "other-creditor",
        "other-purpose",
        "late",
    ]
    assert ids(
        await storage.open_expectations(
            owed_by="gi-noordholland", owed_to="swt-denhelder", purpose="statusbericht"
        )
    ) == ["soon", "late"]
    assert await storage.open_expectations(owed_by="nobody") == []
    found = await storage.open_expectations(owed_by="gi-noordholland", purpose="statusbericht")
    assert found[0] == expectation("soon", due_in_days=5)


async def test_expectations_for_a_partner_list_what_it_owes_and_is_owed(
    storage: Storage,
) -> None:
    await storage.add_expectations(
        [
            expectation("owed", owed_by="swt-denhelder", owed_to="zorg-noord", due_in_days=1),
            expectation("owing", due_in_days=2),
            expectation("closed", due_in_days=3),
            expectation("unrelated", owed_by="school-de-es", owed_to="zorg-noord"),
        ]
    )
    await storage.record_exchange(
        [entry("reply")],
        [],
        ExchangeEffects(close=("closed",), closed_by="ex-reply", closed_at=T0 + timedelta(days=1)),
    )

    everything = await storage.expectations_for("swt-denhelder", open_only=False, limit=10)
    assert [e.expectation_id for e in everything] == ["owed", "owing", "closed"]
    assert everything[2].closed_at == T0 + timedelta(days=1)
    assert everything[2].closed_by == "ex-reply"
    still_open = await storage.expectations_for("swt-denhelder", open_only=True, limit=10)
    assert [e.expectation_id for e in still_open] == ["owed", "owing"]
    assert len(await storage.expectations_for("swt-denhelder", open_only=False, limit=2)) == 2


async def test_exchange_effects_are_committed_with_the_exchange(storage: Storage) -> None:
    await storage.add_expectations([expectation("asked")])

    await storage.record_exchange(
        [entry("reply")],
        [message("m-1", "swt-denhelder")],
        ExchangeEffects(
            open=(expectation("follow-up", owed_by="swt-denhelder", owed_to="zorg-noord"),),
            close=("asked",),
            closed_by="ex-reply",
            closed_at=T0 + timedelta(hours=1),
            break_glass=break_glass("ex-reply"),
        ),
    )

    [asked] = await storage.expectations_for("gi-noordholland", open_only=False, limit=10)
    assert (asked.closed_by, asked.closed_at) == ("ex-reply", T0 + timedelta(hours=1))
    assert [e.expectation_id for e in await storage.open_expectations(owed_by="swt-denhelder")] == [
        "follow-up"
    ]
    assert await storage.break_glass_records(status="pending", limit=10) == [
        break_glass("ex-reply")
    ]


async def test_an_expectation_closed_once_stays_closed_by_its_first_reply(
    storage_backend: Backend,
) -> None:
    one, two = await storage_backend.open(), await storage_backend.open()
    ids = [f"e-{n}" for n in range(8)]
    await one.add_expectations([expectation(eid) for eid in ids])

    # Two replies race to close overlapping sets, in opposite orders.
    await asyncio.gather(
        one.record_exchange(
            [entry("a")], [], ExchangeEffects(close=tuple(ids), closed_by="ex-a", closed_at=T0)
        ),
        two.record_exchange(
            [entry("b")],
            [],
            ExchangeEffects(close=tuple(reversed(ids)), closed_by="ex-b", closed_at=T0),
        ),
    )
    await one.record_exchange(
        [entry("c")], [], ExchangeEffects(close=("e-0",), closed_by="ex-c", closed_at=T0)
    )

    closed = await one.expectations_for("gi-noordholland", open_only=False, limit=100)
    closers = {e.closed_by for e in closed}
    assert len(closers) == 1
    assert closers <= {"ex-a", "ex-b"}
    assert await one.log_size() == 3


async def test_overdue_expectations_are_announced_once_to_both_parties(storage: Storage) -> None:
    await storage.add_expectations(
        [
            expectation("overdue", due_in_days=1),
            expectation("due-now", owed_by="school-de-es", owed_to="zorg-noord", due_in_days=2),
            expectation("not-yet", due_in_days=10),
            expectation("answered", due_in_days=1),
        ]
    )
    await storage.record_exchange(
        [entry("reply")], [], ExchangeEffects(close=("answered",), closed_by="ex-r", closed_at=T0)
    )
    now = T0 + timedelta(days=2)

    found = await storage.mark_newly_overdue(now, 10)

    # Strictly past the deadline: "due-now" is due at `now`, not yet overdue.
    assert [e.expectation_id for e in found] == ["overdue"]
    assert await storage.mark_newly_overdue(now, 10) == []
    later = await storage.mark_newly_overdue(now + timedelta(days=30), 10)
    assert [e.expectation_id for e in later] == ["due-now", "not-yet"]
    pokes = await storage.claim_notifications(now + timedelta(days=30), lease_s=60, limit=10)
    assert sorted((p.partner, p.kind) for p in pokes) == [
        ("gi-noordholland", "expectation_overdue"),
        ("school-de-es", "expectation_overdue"),
        ("swt-denhelder", "expectation_overdue"),
        ("zorg-noord", "expectation_overdue"),
    ]


async def test_two_instances_announcing_overdue_expectations_announce_each_once(
    storage_backend: Backend,
) -> None:
    one, two = await storage_backend.open(), await storage_backend.open()
    ids = [f"e-{n:02d}" for n in range(30)]
    await one.add_expectations([expectation(eid, due_in_days=1) for eid in ids])
    now = T0 + timedelta(days=2)

    batches = await asyncio.gather(
        *((one if n % 2 else two).mark_newly_overdue(now, 7) for n in range(8))
    )

    announced = [e.expectation_id for batch in batches for e in batch]
    assert sorted(announced) == ids


async def test_new_messages_queue_one_poke_per_recipient_until_delivered(
    storage: Storage,
) -> None:
    await storage.record_exchange(
        [entry("x")], [message("m-1"), message("m-2"), message("m-3", "school-de-es")]
    )
    await storage.record_exchange([entry("y")], [message("m-4")])

    claimed = await storage.claim_notifications(T0, lease_s=60, limit=10)

    assert sorted(claimed, key=lambda p: p.partner) == [
        PendingNotification("school-de-es", "new_messages", T0, 0),
        PendingNotification("zorg-noord", "new_messages", T0, 0),
    ]
    assert await storage.inbox_count("zorg-noord") == 3
    assert await storage.inbox_count("school-de-es") == 1
    assert await storage.inbox_count("gi-noordholland") == 0


async def test_claimed_notification_returns_after_its_lease_unless_finished(
    storage: Storage,
) -> None:
    await storage.record_exchange([entry("x")], [message("m-1"), message("m-2", "school-de-es")])

    assert len(await storage.claim_notifications(T0, lease_s=60, limit=10)) == 2
    assert await storage.claim_notifications(T0 + timedelta(seconds=59), lease_s=60, limit=10) == []
    await storage.finish_notification("school-de-es", "new_messages", T0)

    again = await storage.claim_notifications(T0 + timedelta(seconds=60), lease_s=60, limit=10)
    assert [p.partner for p in again] == ["zorg-noord"]


async def test_a_newer_poke_survives_finishing_the_older_one(storage: Storage) -> None:
    await storage.record_exchange([entry("x")], [message("m-1")])
    [claimed] = await storage.claim_notifications(T0, lease_s=60, limit=10)
    later = replace(message("m-2"), sent_at=T0 + timedelta(seconds=5))
    await storage.record_exchange([entry("y")], [later])

    await storage.finish_notification(claimed.partner, claimed.kind, claimed.created_at)

    [still] = await storage.claim_notifications(T0 + timedelta(minutes=1), lease_s=60, limit=10)
    assert still.created_at == T0 + timedelta(seconds=5)


async def test_retried_notification_waits_until_its_next_attempt(storage: Storage) -> None:
    await storage.record_exchange([entry("x")], [message("m-1")])
    await storage.claim_notifications(T0, lease_s=60, limit=10)

    await storage.retry_notification(
        "zorg-noord", "new_messages", next_at=T0 + timedelta(seconds=10), attempts=1
    )

    assert await storage.claim_notifications(T0 + timedelta(seconds=9), lease_s=60, limit=10) == []
    [retried] = await storage.claim_notifications(T0 + timedelta(seconds=10), lease_s=60, limit=10)
    assert retried.attempts == 1


async def test_two_instances_claiming_at_once_never_take_the_same_notification(
    storage_backend: Backend,
) -> None:
    one, two = await storage_backend.open(), await storage_backend.open()
    partners = [f"partner-{n:02d}" for n in range(20)]
    await one.record_exchange([entry("x")], [message(f"m-{p}", p) for p in partners])

    batches = await asyncio.gather(
        *((one if n % 2 else two).claim_notifications(T0, lease_s=60, limit=3) for n in range(10))
    )

    claimed = [p.partner for batch in batches for p in batch]
    assert sorted(claimed) == partners


async def test_break_glass_review_is_stored_with_its_log_entry(storage: Storage) -> None:
    await storage.record_exchange(
        [entry("bg-1")], [], ExchangeEffects(break_glass=break_glass("ex-1", minutes=2))
    )
    await storage.record_exchange(
        [entry("bg-2")], [], ExchangeEffects(break_glass=break_glass("ex-2", minutes=1))
    )
    review = entry("reviewed", decision="audit_access")

    index = await storage.review_break_glass(
        "ex-1",
        status="justified",
        by="fg-denhelder",
        at=T0 + timedelta(days=1),
        sealed_note=b"\x04sealed-note",
        entry=review,
    )

    assert index == 2
    assert [r.entry for r in await storage.log_rows(2, 3)] == [review]
    assert await storage.break_glass_records(status="pending", limit=10) == [
        break_glass("ex-2", minutes=1)
    ]
    assert await storage.break_glass_records(status="justified", limit=10) == [
        replace(
            break_glass("ex-1", minutes=2),
            status="justified",
            reviewed_by="fg-denhelder",
            reviewed_at=T0 + timedelta(days=1),
            sealed_note=b"\x04sealed-note",
        )
    ]
    assert [r.exchange_id for r in await storage.break_glass_records(status=None, limit=10)] == [
        "ex-2",
        "ex-1",
    ]
    assert len(await storage.break_glass_records(status=None, limit=1)) == 1


async def test_reviewing_an_unknown_break_glass_disclosure_logs_nothing(storage: Storage) -> None:
    outcome = await storage.review_break_glass(
        "ex-404",
        status="unjustified",
        by="fg-denhelder",
        at=T0,
        sealed_note=b"note",
        entry=entry("reviewed", decision="audit_access"),
    )

    assert outcome is None
    assert await storage.log_size() == 0


# -- tree (sequencer) -----------------------------------------------------------------------------


async def test_stored_tree_nodes_are_read_back_by_key_and_never_overwritten(
    storage: Storage,
) -> None:
    assert await storage.tree_nodes([(0, 0)]) == {}
    await storage.store_tree(
        [(0, 0, b"\x01" * 32), (0, 1, b"\x02" * 32), (1, 0, b"\x03" * 32)], None
    )

    await storage.store_tree([(0, 0, b"\xff" * 32), (0, 2, b"\x04" * 32)], None)

    assert await storage.tree_nodes([(0, 0), (1, 0), (0, 2), (2, 0), (1, 1)]) == {
        (0, 0): b"\x01" * 32,
        (1, 0): b"\x03" * 32,
        (0, 2): b"\x04" * 32,
    }
    assert await storage.tree_nodes([]) == {}


async def test_latest_checkpoint_is_the_largest_and_all_are_listed_by_size(
    storage: Storage,
) -> None:
    assert await storage.latest_checkpoint() is None
    assert await storage.checkpoints() == []
    signed = [
        StoredCheckpoint(size, bytes([size]) * 32, f"note {size}\n", T0 + timedelta(seconds=size))
        for size in (0, 7, 3)
    ]

    for checkpoint in signed:
        await storage.store_tree([], checkpoint)
    await storage.store_tree([], replace(signed[1], note="a second signature\n"))

    assert await storage.latest_checkpoint() == signed[1]
    assert await storage.checkpoints() == [signed[0], signed[2], signed[1]]


# -- life cycle and schema ------------------------------------------------------------------------


async def test_ping_answers_while_storage_is_open(storage: Storage) -> None:
    await storage.ping()


async def test_migrating_twice_changes_nothing(storage_backend: Backend) -> None:
    storage = await storage_backend.open()
    await storage.append_log([entry("kept")])
    await storage.record_exchange([entry("x")], [message("m-1")])

    assert await storage_backend.migrate(storage) == SCHEMA_VERSION
    again = await storage_backend.open()

    assert await storage_backend.schema_version() == SCHEMA_VERSION
    assert await tags(again, LogFilter()) == ["kept", "x"]
    assert len(await again.inbox_page("zorg-noord", after=0, limit=10)) == 1
    assert await again.append_log([entry("next")]) == [2]


async def test_database_with_a_newer_schema_version_is_refused(storage_backend: Backend) -> None:
    await storage_backend.open()
    await storage_backend.set_schema_version(SCHEMA_VERSION + 1)

    newer = storage_backend.make()
    with pytest.raises(RuntimeError, match="newer than this gateway knows"):
        await newer.open()
    assert await storage_backend.schema_version() == SCHEMA_VERSION + 1


@pytest.mark.parametrize("backend", [SqliteStorage, PostgresStorage])
def test_every_back_end_implements_every_storage_method_with_its_parameters(
    backend: type[object],
) -> None:
    # Storage is the union of the role protocols: their methods are its bases' own.
    wanted = {
        name: inspect.signature(member)
        for protocol in reversed(Storage.__mro__)
        for name, member in vars(protocol).items()
        if inspect.iscoroutinefunction(member) and not name.startswith("_")
    }
    assert wanted, "the Storage protocol lists no methods"
    for name, signature in wanted.items():
        implemented = getattr(backend, name, None)
        assert inspect.iscoroutinefunction(implemented), f"{backend.__name__} lacks {name}"
        shape = [(p.name, p.kind) for p in inspect.signature(implemented).parameters.values()]
        assert shape == [(p.name, p.kind) for p in signature.parameters.values()], name


# -- PostgreSQL only ------------------------------------------------------------------------------


def test_postgres_migrations_have_the_sqlite_version_numbers() -> None:
    assert [v for v, _ in POSTGRES_MIGRATIONS] == [v for v, _ in SQLITE_MIGRATIONS]
    assert POSTGRES_SCHEMA_VERSION == SCHEMA_VERSION


async def test_postgres_schema_has_the_sqlite_tables_columns_and_indexes(
    postgres_backend: PostgresBackend, tmp_path: Path
) -> None:
    sqlite = SqliteBackend(tmp_path / "parity.sqlite3")
    try:
        await sqlite.open()
        await postgres_backend.open()
        pg_tables = await postgres_backend.tables()

        # The two counter rows exist only in PostgreSQL (see gateway.store.postgres_schema).
        assert set(pg_tables) - set(await sqlite.tables()) == {"log_head", "inbox_head"}
        del pg_tables["log_head"], pg_tables["inbox_head"]
        assert pg_tables == await sqlite.tables()
        assert await postgres_backend.indexes() == await sqlite.indexes()
    finally:
        await sqlite.close()


async def test_postgres_schema_version_is_zero_before_migration_and_current_after(
    postgres_backend: PostgresBackend,
) -> None:
    fresh = postgres_backend.make()
    await fresh.open()
    try:
        assert await fresh.schema_version() == SCHEMA_VERSION
        await postgres_backend.sql_rows("DROP TABLE meta")
        assert await fresh.schema_version() == 0
    finally:
        await fresh.close()


async def test_postgres_tables_live_only_in_the_given_schema(
    postgres_backend: PostgresBackend,
) -> None:
    await postgres_backend.open()

    public = await postgres_backend.sql_value(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' "
        "AND table_name = 'log_head'"
    )
    own = await postgres_backend.sql_value(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1 "
        "AND table_name = 'log_head'",
        postgres_backend.schema,
    )
    assert (public, own) == (0, 1)


def test_postgres_schema_name_must_be_a_plain_identifier() -> None:
    with pytest.raises(ValueError, match="schema name"):
        PostgresStorage("postgresql://localhost/test", schema='x"; DROP SCHEMA public; --')
    with pytest.raises(ValueError, match="schema name"):
        PostgresSequencerLock("postgresql://localhost/test", schema="Upper")


async def test_unreachable_postgres_is_reported_as_storage_unavailable() -> None:
    storage = PostgresStorage("postgresql://postgres@127.0.0.1:1/test")

    with pytest.raises(StorageUnavailable, match="storage connection failed"):
        await storage.open()
    with pytest.raises(StorageUnavailable, match="not open"):
        await storage.log_size()


async def test_closed_postgres_storage_is_reported_as_storage_unavailable(
    postgres_backend: PostgresBackend,
) -> None:
    storage = postgres_backend.make()
    await storage.open()
    await storage.close()

    with pytest.raises(StorageUnavailable):
        await storage.ping()
    with pytest.raises(StorageUnavailable):
        await storage.append_log([entry("late")])


async def test_postgres_storage_recovers_after_the_server_drops_its_connections(
    postgres_backend: PostgresBackend,
) -> None:
    # asyncpg passes unknown DSN parameters as server settings: this names our pool's sessions.
    name = f"{postgres_backend.schema}_pool"
    storage = postgres_backend.make(f"{postgres_backend.dsn}?application_name={name}")
    await storage.open()
    postgres_backend.opened.append(storage)
    await storage.append_log([entry("before")])

    dropped = await postgres_backend.sql_value(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1",
        name,
    )
    assert dropped >= 2

    outcomes: list[str] = []
    for _ in range(POOL_ATTEMPTS):
        try:
            outcomes.append(str(await storage.append_log([entry("after")])))
            break
        except StorageUnavailable:
            outcomes.append("unavailable")
    assert outcomes[-1] != "unavailable", outcomes
    assert await tags(storage, LogFilter()) == ["before", "after"]


POOL_ATTEMPTS = 11  # one failure per pooled connection at most, then a fresh one


async def test_postgres_writes_are_never_left_with_synchronous_commit_off(
    postgres_backend: PostgresBackend,
) -> None:
    # A DSN parameter becomes a session setting, as a role's or database's default would.
    storage = postgres_backend.make(f"{postgres_backend.dsn}?synchronous_commit=off")
    await storage.open()
    try:
        setting = await storage._read(lambda c: c.fetchval("SHOW synchronous_commit"))
        assert setting == "on"
    finally:
        await storage.close()


# -- PostgreSQL sequencer lock --------------------------------------------------------------------


async def holder_pid(backend: PostgresBackend, lock: PostgresSequencerLock) -> int | None:
    high, low = (lock.key >> 32) & 0xFFFFFFFF, lock.key & 0xFFFFFFFF
    pid = await backend.sql_value(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND classid = $1::bigint::oid AND objid = $2::bigint::oid AND objsubid = 1",
        high,
        low,
    )
    return None if pid is None else int(pid)


async def test_only_one_instance_holds_the_sequencer_lock_until_it_releases(
    postgres_backend: PostgresBackend,
) -> None:
    first = PostgresSequencerLock(postgres_backend.dsn, schema=postgres_backend.schema)
    second = PostgresSequencerLock(postgres_backend.dsn, schema=postgres_backend.schema)
    try:
        assert await first.acquire() is True
        assert await first.acquire() is True
        assert await second.acquire() is False
        assert await holder_pid(postgres_backend, first) is not None

        await first.release()

        assert await holder_pid(postgres_backend, first) is None
        assert await second.acquire() is True
        assert await first.acquire() is False
    finally:
        await first.release()
        await second.release()


async def test_sequencer_lock_passes_on_when_its_holders_connection_dies(
    postgres_backend: PostgresBackend,
) -> None:
    first = PostgresSequencerLock(postgres_backend.dsn, schema=postgres_backend.schema)
    second = PostgresSequencerLock(postgres_backend.dsn, schema=postgres_backend.schema)
    try:
        assert await first.acquire() is True
        pid = await holder_pid(postgres_backend, first)

        # What PostgreSQL sees when the holding process is killed or cut off.
        await postgres_backend.sql_rows("SELECT pg_terminate_backend($1)", pid)
        await wait_for_lock_release(postgres_backend, first)

        assert await second.acquire() is True
        assert await first.acquire() is False
    finally:
        await first.release()
        await second.release()


async def wait_for_lock_release(backend: PostgresBackend, lock: PostgresSequencerLock) -> None:
    for _ in range(100):
        if await holder_pid(backend, lock) is None:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the terminated session kept its advisory lock")


async def test_sequencer_locks_of_different_schemas_do_not_exclude_each_other(
    postgres_backend: PostgresBackend,
) -> None:
    ours = PostgresSequencerLock(postgres_backend.dsn, schema=postgres_backend.schema)
    theirs = PostgresSequencerLock(postgres_backend.dsn, schema=postgres_backend.schema + "_b")
    try:
        assert await ours.acquire() is True
        assert await theirs.acquire() is True
    finally:
        await ours.release()
        await theirs.release()


async def test_sequencer_lock_is_not_acquired_when_postgres_is_unreachable() -> None:
    lock = PostgresSequencerLock("postgresql://postgres@127.0.0.1:1/test")

    assert await lock.acquire() is False
    await lock.release()


async def test_database_with_an_older_schema_version_is_refused_until_migrated(
    storage_backend: Backend,
) -> None:
    await storage_backend.open()
    await storage_backend.set_schema_version(1)
    older = storage_backend.make()
    with pytest.raises(SchemaVersionError, match="run `gateway migrate`"):
        await older.open()


async def test_concurrent_leased_pulls_never_hand_out_one_message_twice(
    storage_backend: Backend,
) -> None:
    first = await storage_backend.open()
    second = await storage_backend.open()
    now = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    for n in range(30):
        await first.record_exchange([], [_leased_message(n, now)])
    until = now + timedelta(seconds=60)
    batches = await asyncio.gather(
        *(
            (first if n % 2 else second).lease_inbox("swt-x", limit=4, now=now, until=until)
            for n in range(10)
        )
    )
    taken = [m.message_id for batch in batches for m in batch]
    assert len(taken) == len(set(taken)) == 30
    assert await first.lease_inbox("swt-x", limit=10, now=now, until=until) == []
    again = await second.lease_inbox(
        "swt-x", limit=50, now=until, until=until + timedelta(seconds=1)
    )
    assert len(again) == 30, "an expired lease makes the message available again"


def _leased_message(n: int, now: datetime) -> StoredMessage:
    return StoredMessage(
        message_id=f"msg_lease_{n:03d}",
        recipient="swt-x",
        subject="ab" * 32,
        exchange_id=f"ex_lease_{n:03d}",
        disclosure_id=f"dis_lease_{n:03d}",
        purpose="evaluation-feedback",
        sender_partner="zorg-x",
        sender_role="casusregisseur",
        case_id=None,
        in_reply_to=None,
        sent_at=now,
        retain_until=now + timedelta(days=30),
        sealing="hpke",
        body=b"sealed",
    )


async def test_server_clock_is_the_database_servers_or_none_where_it_is_this_machines(
    storage: Storage,
) -> None:
    """`gateway doctor` measures the skew against PostgreSQL's clock; SQLite has no other one."""
    before = datetime.now(UTC)
    server = await storage.server_now()
    after = datetime.now(UTC)
    if isinstance(storage, SqliteStorage):
        assert server is None
    else:
        assert server is not None
        assert server.tzinfo is not None
        assert before - timedelta(seconds=5) <= server <= after + timedelta(seconds=5)


async def test_each_back_end_elects_its_sequencer_with_a_lock_of_its_own(
    storage: Storage, tmp_path: Path
) -> None:
    """One holder at a time: a file lock in the data folder on SQLite, an advisory lock on
    PostgreSQL (whatever the data folder)."""
    first = storage.sequencer_lock(tmp_path / "a")
    second = storage.sequencer_lock(
        tmp_path / "a" if isinstance(storage, SqliteStorage) else tmp_path / "b"
    )
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    try:
        assert await first.acquire() is True
        assert await second.acquire() is False
        await first.release()
        assert await second.acquire() is True
    finally:
        await first.release()
        await second.release()


# -- the schema a fresh database gets ------------------------------------------------------------

SCHEMA_DUMPS = Path(__file__).parent / "storage_schema"


async def test_a_fresh_database_gets_exactly_the_schema_of_version_13(
    storage_backend: Backend,
) -> None:
    """Tables, columns, types, constraints and indexes of a fresh database. The dump of version
    8 was taken from a database the code made before the two back ends shared one schema
    definition; version 9's adds exactly subject_links, legacy_subjects and consents.retain_ms
    and consents.term_known with their indexes to it, version 10's the indexes
    log_by_subject_purpose, household_by_subject and expectations_by_subject, version 11's
    cases.last_activity_ms and subject_birth_dates.recorded_ms with their indexes and the index
    expectations_by_case, version 12's the table case_events, the columns cases.state,
    opened_by, opened_on and opened_on_exchange and expectations.cancelled_reason, version 13's
    the columns cases.regisseur_actor, case_network.care_column and measure and
    household.directed_by (each reviewed as a diff)."""
    await storage_backend.open()

    expected = (SCHEMA_DUMPS / f"{storage_backend.name}-v13.txt").read_text().splitlines()
    assert await storage_backend.ddl() == expected


@pytest.mark.parametrize("version", range(1, SCHEMA_VERSION))
async def test_a_database_of_any_earlier_version_migrates_to_exactly_that_schema(
    storage_backend: Backend, version: int
) -> None:
    await storage_backend.create_at_version(version)
    assert await storage_backend.schema_version() == version

    assert await storage_backend.migrate(storage_backend.make()) == SCHEMA_VERSION

    expected = (SCHEMA_DUMPS / f"{storage_backend.name}-v13.txt").read_text().splitlines()
    assert await storage_backend.ddl() == expected
    await storage_backend.open()  # and it opens


def test_a_statement_is_written_once_and_rendered_in_each_dialects_words() -> None:
    template = "SELECT x FROM t WHERE a = ? AND b <= ? LIMIT ?{skip_locked}"

    assert SQLITE.render(template) == "SELECT x FROM t WHERE a = ? AND b <= ? LIMIT ?"
    assert POSTGRESQL.render(template) == (
        "SELECT x FROM t WHERE a = $1 AND b <= $2 LIMIT $3 FOR UPDATE SKIP LOCKED"
    )
    assert POSTGRESQL.render("CREATE TABLE t (n {int64}, b {bytes})") == (
        "CREATE TABLE t (n BIGINT, b BYTEA)"
    )
    assert SQLITE.render("CREATE TABLE t (n {int64}, b {bytes})") == (
        "CREATE TABLE t (n INTEGER, b BLOB)"
    )
