"""The facts a relation rests on (issue 19), as each back end's storage answers them.

`received_from`, `sent_to` (through `received_about` and `sent_about` below) and `in_case_of`
over real SQLite and PostgreSQL: each answers yes only for the partner, the subject (pseudonym) and the purpose the fact is about, and only for
what was disclosed; a refusal, another partner, another person or another purpose is no fact.
`received_from`, `sent_to` and `case_fellows` answer the partners the same fact ties the partner
to (empty: no fact).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.log.entry import LogEntry, Sender
from gateway.store.base import Case, Expectation, HouseholdChild, NetworkMember, Storage
from tests.storage_fixtures import (  # noqa: F401  (pytest finds the fixtures by name)
    storage_backend_fixture,
    storage_fixture,
)

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
CHILD, OTHER = "pseudo-child", "pseudo-other"


async def received_about(
    storage: Storage, partner: str, subject: str, purposes: tuple[str, ...]
) -> bool:
    """Whether a referral-like fact ties the partner to the subject at all."""
    return bool(await storage.received_from(partner, subject, purposes, among=()))


async def sent_about(
    storage: Storage, partner: str, subject: str, purposes: tuple[str, ...]
) -> bool:
    """Whether the partner's own disclosed message ties it to the subject at all."""
    return bool(await storage.sent_to(partner, subject, purposes, among=()))


def logged(decision: str, purpose: str, sender: str, recipient: str, subject: str) -> LogEntry:
    return LogEntry(
        time=T0,
        decision=decision,
        exchange_id=f"ex-{purpose}-{sender}-{recipient}-{subject}",
        purpose=purpose,
        sender=Sender(sender, "actor-1", "procesregisseur"),
        recipient=recipient,
        subject=subject,
    )


async def test_a_disclosed_referral_ties_only_its_recipient_to_only_its_subject(
    storage: Storage,
) -> None:
    await storage.append_log(
        [
            logged("disclosed", "referral", "swt-denhelder", "zorg-noord", CHILD),
            # A refused referral to the institution is no referral received.
            logged("refused", "referral", "swt-denhelder", "gi-noordholland", CHILD),
            logged("disclosed", "closure-notice", "swt-denhelder", "school-de-es", CHILD),
        ]
    )
    assert await received_about(storage, "zorg-noord", CHILD, ("referral",)) is True
    assert await received_about(storage, "zorg-noord", OTHER, ("referral",)) is False
    assert await received_about(storage, "gi-noordholland", CHILD, ("referral",)) is False
    assert await received_about(storage, "school-de-es", CHILD, ("referral",)) is False
    assert await received_about(storage, "school-de-es", CHILD, ("closure-notice",)) is True
    # The sender of the referral did not receive it.
    assert await received_about(storage, "swt-denhelder", CHILD, ("referral",)) is False
    # Any of several purposes will do; none asked is no fact.
    assert await received_about(storage, "zorg-noord", CHILD, ("medical-referral", "referral"))
    assert await received_about(storage, "zorg-noord", CHILD, ()) is False
    # Towards whom: the referral's sender, and no one for a refused or absent referral.
    both = ("swt-denhelder", "gi-noordholland")
    assert await storage.received_from("zorg-noord", CHILD, ("referral",), both) == {
        "swt-denhelder"
    }
    # Asked about others only, the fact still shows, towards the partner it is towards.
    assert await storage.received_from("zorg-noord", CHILD, ("referral",), ("x",)) == {
        "swt-denhelder"
    }
    assert await storage.received_from("gi-noordholland", CHILD, ("referral",), both) == set()
    assert await storage.received_from("zorg-noord", OTHER, ("referral",), both) == set()
    assert await storage.received_from("zorg-noord", CHILD, (), both) == frozenset()


async def test_a_gps_referral_counts_as_a_referral_received(storage: Storage) -> None:
    await storage.append_log(
        [logged("disclosed", "medical-referral", "huisarts-noord", "zorg-noord", CHILD)]
    )
    assert await received_about(storage, "zorg-noord", CHILD, ("referral", "medical-referral"))
    assert not await received_about(storage, "zorg-noord", CHILD, ("referral",))


async def test_a_referral_that_asked_about_a_brother_or_sister_counts_as_received_for_them(
    storage: Storage,
) -> None:
    await storage.add_expectations(
        [
            Expectation(
                expectation_id="exp-1",
                purpose="safety-assessment",
                origin_purpose="referral",
                origin_exchange_id="ex-1",
                case_id="case-1",
                owed_by="zorg-noord",
                owed_to="swt-denhelder",
                subject=OTHER,
                child_ref="kind-2",
                opened_at=T0,
                due_at=T0 + timedelta(days=10),
            )
        ]
    )
    assert await received_about(storage, "zorg-noord", OTHER, ("referral",)) is True
    assert await received_about(storage, "zorg-noord", CHILD, ("referral",)) is False
    assert await received_about(storage, "gi-noordholland", OTHER, ("referral",)) is False
    assert await received_about(storage, "zorg-noord", OTHER, ("information-request",)) is False
    # Towards the partner the expectation is owed to.
    among = ("gi-noordholland", "swt-denhelder")
    assert await storage.received_from("zorg-noord", OTHER, ("referral",), among) == {
        "swt-denhelder"
    }
    assert await storage.received_from("zorg-noord", OTHER, ("referral",), ()) == {"swt-denhelder"}
    assert await storage.received_from("zorg-noord", CHILD, ("referral",), among) == set()


async def test_only_the_partners_own_disclosed_message_counts_as_sent(storage: Storage) -> None:
    await storage.append_log(
        [
            logged("disclosed", "start-stop", "zorg-noord", "swt-denhelder", CHILD),
            logged("refused", "start-stop", "gi-noordholland", "swt-denhelder", OTHER),
        ]
    )
    assert await sent_about(storage, "zorg-noord", CHILD, ("start-stop",)) is True
    assert await sent_about(storage, "zorg-noord", OTHER, ("start-stop",)) is False
    assert await sent_about(storage, "gi-noordholland", OTHER, ("start-stop",)) is False
    assert await sent_about(storage, "swt-denhelder", CHILD, ("start-stop",)) is False
    assert await sent_about(storage, "zorg-noord", CHILD, ("evaluation-feedback",)) is False
    # Towards the recipients of the partner's own disclosed start-stop messages.
    await storage.append_log(
        [logged("disclosed", "start-stop", "zorg-noord", "swt-schagen", CHILD)]
    )
    among = ("swt-denhelder", "swt-schagen", "gi-noordholland")
    assert await storage.sent_to("zorg-noord", CHILD, ("start-stop",), among) == {
        "swt-denhelder",
        "swt-schagen",
    }
    assert await storage.sent_to("zorg-noord", CHILD, ("start-stop",), ("swt-schagen",)) == {
        "swt-schagen"
    }
    # Asked about no recipient it went to, the fact shows towards one it went to.
    elsewhere = await storage.sent_to("zorg-noord", CHILD, ("start-stop",), ("gi-noordholland",))
    assert len(elsewhere) == 1
    assert elsewhere <= {"swt-denhelder", "swt-schagen"}
    assert await storage.sent_to("gi-noordholland", OTHER, ("start-stop",), among) == set()
    assert await storage.sent_to("zorg-noord", CHILD, (), among) == frozenset()


async def test_a_case_ties_its_network_members_to_its_household_children_only(
    storage: Storage,
) -> None:
    def member(partner: str, role: str) -> NetworkMember:
        return NetworkMember("case-1", partner, role, None, "swt-denhelder", T0)

    def entry(decision: str) -> LogEntry:
        return LogEntry(time=T0, decision=decision, case_id="case-1")

    director = member("swt-denhelder", "procesregisseur")
    await storage.open_case(
        Case("case-1", "swt-denhelder", None, T0), director, entry("case_opened")
    )
    await storage.register_involvement(member("zorg-noord", "involved"), entry("case_member_added"))
    await storage.register_child(
        HouseholdChild("case-1", "kind-1", CHILD, "swt-denhelder", T0),
        entry("household_child_registered"),
    )
    assert await storage.in_case_of("zorg-noord", CHILD) is True
    assert await storage.in_case_of("swt-denhelder", CHILD) is True
    assert await storage.in_case_of("zorg-noord", OTHER) is False
    assert await storage.in_case_of("gi-noordholland", CHILD) is False
    # Towards every member of the case's network, itself included; no one for a non-member.
    assert await storage.case_fellows("zorg-noord", CHILD) == {"swt-denhelder", "zorg-noord"}
    assert await storage.case_fellows("gi-noordholland", CHILD) == frozenset()
    assert await storage.case_fellows("zorg-noord", OTHER) == frozenset()
    await storage.remove_involvement("case-1", "zorg-noord", entry("case_member_removed"))
    assert await storage.in_case_of("zorg-noord", CHILD) is False
    assert await storage.case_fellows("zorg-noord", CHILD) == frozenset()
