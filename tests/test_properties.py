"""Properties of the policy pipeline (issue 11), on the shipped catalogue and demo partners.

1. A payload with any extra field at any object depth is never accepted: through the request
   parser, the decision and its (compiled) payload check, as the exchange handler runs them,
   and over HTTP for every object of every purpose's example.
2. No consent set ever allows an exchange outside its purposes, parties or validity window,
   decided by `gateway.policy.decide` (Dutch calendar days, several recipients, fan-out).

`tests/test_schemas.py` shows the schemas alone refuse extra keys, and `tests/test_consent_rules.py`
checks `find_covering_consent` against an oracle at UTC times; these go through the decision the
handlers call.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from consent import ConsentRecord
from consent.model import Evidence, Giver
from gateway.clock import DUTCH_TIME
from gateway.config import Catalogue, Partner, PartnerRegistry, Purpose
from gateway.config.partners import SENDING_KINDS
from gateway.config.purposes import load_catalogue
from gateway.config.settings import load_settings
from gateway.errors import ConsentRequired, PayloadNotMinimal
from gateway.policy import decide, parse_exchange_request
from gateway.policy.decision import Caller, Decision
from gateway.policy.relations import RELATION_RULES, SubjectTies
from gateway.runtime import DEFAULT_CONFIG, load_checked_partners
from tests.conftest import BSN_CHILD, ROLES, Running, example
from tests.helpers import Http, relate

PSEUDONYM = "ab" * 32
SETTLED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
KINDS = tuple(sorted(SENDING_KINDS))  # every kind that exchanges, the new ones of issue 19 too
EXTRA_KEY = "extra_field"


@cache
def world() -> tuple[Catalogue, PartnerRegistry]:
    """The shipped purpose catalogue and the demo partners, loaded as the gateway loads them."""
    settings_ = load_settings(DEFAULT_CONFIG)
    return load_catalogue(DEFAULT_CONFIG, settings_.schemas_dir), load_checked_partners(
        DEFAULT_CONFIG, production=settings_.production
    )


def purposes() -> list[Purpose]:
    return sorted(world()[0], key=lambda p: p.id)


def exchange_partners() -> list[Partner]:
    return sorted((p for p in world()[1] if p.kind in KINDS), key=lambda p: p.id)


def senders_of(purpose: Purpose) -> list[Partner]:
    return [
        p
        for p in exchange_partners()
        if p.kind in purpose.sender_kinds and ROLES[p.id] in purpose.sender_roles
    ]


def recipients_of(purpose: Purpose, sender: Partner) -> list[Partner]:
    return [p for p in exchange_partners() if p.kind in purpose.recipient_kinds and p != sender]


def pick(data: st.DataObject, items: list[Any], label: str) -> Any:
    """Draw one purpose or partner by its id, so a failing example prints short."""
    chosen = data.draw(st.sampled_from([item.id for item in items]), label=label)
    return next(item for item in items if item.id == chosen)


def caller(partner: Partner) -> Caller:
    return Caller(partner, f"{partner.id}-actor-1", ROLES[partner.id])


def consent(
    consent_id: str,
    *,
    purposes_: frozenset[str],
    senders: frozenset[str],
    recipients: frozenset[str],
    valid_from: date = date(2026, 1, 1),
    valid_until: date | None = None,
    withdrawn_at: datetime | None = None,
) -> ConsentRecord:
    """An adult's own consent (so the age rules never stand in the way) with this scope."""
    return ConsentRecord(
        consent_id=consent_id,
        subject=PSEUDONYM,
        birth_date=date(1990, 1, 1),
        given_by=(Giver(role="subject"),),
        purposes=purposes_,
        senders=senders,
        recipients=recipients,
        valid_from=valid_from,
        valid_until=valid_until,
        evidence=Evidence(method="written", reference="dossier-1"),
        recorded_by="swt-denhelder",
        recorded_at=SETTLED,
        withdrawn_at=withdrawn_at,
    )


def decide_body(
    body: dict[str, Any],
    sender: Partner,
    consents: list[ConsentRecord],
    now: datetime,
    *,
    fan_out: bool = False,
) -> Decision:
    """Parse and decide a request body the way POST /v1/exchanges does (without storage), for a
    sender that holds every relation to the subject a purpose may presume (issue 19)."""
    catalogue, partners = world()
    parsed = parse_exchange_request(body, payload_required=True)
    assert isinstance(parsed.to, tuple)
    return decide(
        parsed,
        caller=caller(sender),
        recipients=list(parsed.to),
        fan_out=fan_out,
        catalogue=catalogue,
        partners=partners,
        consents=consents,
        now=now,
        ties=EVERY_TIE,
    )


# Every relation, towards every partner: the properties below are about the other rules.
EVERY_TIE = SubjectTies(
    {rule.tie: frozenset(p.id for p in world()[1]) for rule in RELATION_RULES.values()}
)


# -- 1. an extra field at any depth ----------------------------------------------------------


def object_paths(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """The path of every JSON object inside `value`, itself included, also inside arrays."""
    if isinstance(value, dict):
        yield path
        for key, item in value.items():
            yield from object_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from object_paths(item, (*path, index))


def at(value: Any, path: tuple[str | int, ...]) -> Any:
    for step in path:
        value = value[step]
    return value


def pointer(path: tuple[str | int, ...]) -> str:
    return "/payload" + "".join(
        "/" + str(step).replace("~", "~0").replace("/", "~1") for step in path
    )


def property_names(node: Any) -> set[str]:
    """Every property name a schema declares anywhere, so a drawn key is surely not one."""
    names: set[str] = set()
    if isinstance(node, dict):
        if isinstance(node.get("properties"), dict):
            names |= set(node["properties"])
        for child in node.values():
            names |= property_names(child)
    elif isinstance(node, list):
        for child in node:
            names |= property_names(child)
    return names


def everything_consent() -> ConsentRecord:
    catalogue, partners = world()
    return consent(
        "cns-all",
        purposes_=frozenset(p.id for p in catalogue),
        senders=frozenset(p.id for p in partners),
        recipients=frozenset(f"kind:{kind}" for kind in KINDS),
    )


def example_body(purpose: Purpose, payload: dict[str, Any]) -> tuple[dict[str, Any], Partner]:
    sender = senders_of(purpose)[0]
    recipient = recipients_of(purpose, sender)[0]
    body = {"purpose": purpose.id, "to": recipient.id, "subject": {"bsn": BSN_CHILD}}
    return {**body, "payload": payload}, sender


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=5,
)


@pytest.mark.parametrize("purpose_id", [p.id for p in purposes()])
def test_every_unaltered_example_is_allowed_by_the_decision(purpose_id: str) -> None:
    purpose = world()[0].get(purpose_id)
    assert purpose is not None
    body, sender = example_body(purpose, example(purpose_id))
    decision = decide_body(body, sender, [everything_consent()], SETTLED)
    assert [r.allowed for r in decision.recipients] == [True]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_an_extra_field_at_any_depth_is_refused_as_not_minimal_by_the_decision(
    data: st.DataObject,
) -> None:
    purpose = pick(data, purposes(), "purpose")
    payload = example(purpose.id)
    path = data.draw(st.sampled_from(list(object_paths(payload))), label="object")
    declared = property_names(purpose.schema)
    key = data.draw(st.text(min_size=1, max_size=40).filter(lambda k: k not in declared), "key")
    at(payload, path)[key] = data.draw(JSON_VALUES, label="value")
    body, sender = example_body(purpose, payload)
    with pytest.raises(PayloadNotMinimal) as refused:
        decide_body(body, sender, [everything_consent()], SETTLED)
    assert refused.value.code == "payload_not_minimal"
    assert refused.value.status == 422
    violations = refused.value.extra["violations"]
    assert pointer((*path, key)) in [v["path"] for v in violations]


@pytest.fixture
async def http(running: Running) -> AsyncIterator[Http]:
    async with aiohttp.ClientSession() as session:
        yield Http(running, session)


async def test_an_extra_field_in_any_object_of_any_example_is_refused_over_http(
    running: Running, http: Http
) -> None:
    """Every object of every example, one at a time, through POST /v1/exchanges itself."""
    tokens = {p.id: await http.token(p.id) for p in exchange_partners()}
    # Each sender records the person's consent for what it sends itself.
    for partner in exchange_partners():
        own = [p.id for p in purposes() if p.consent_required and partner.kind in p.sender_kinds]
        if not own:
            continue
        recorded = await http.call(
            "POST",
            "/v1/consents",
            token=tokens[partner.id],
            json_body={
                "subject": {"bsn": BSN_CHILD, "birth_date": "1990-01-01"},
                "given_by": [{"role": "subject"}],
                "purposes": own,
                "to": [f"kind:{kind}" for kind in KINDS],
                "evidence": {"method": "written", "reference": "dossier-1"},
            },
        )
        assert recorded.status == 201, recorded.text
    # A reply must answer an open request: one information request is left open for them all.
    replies = {p.id: p.reply_to.purpose for p in purposes() if p.reply_to is not None}
    asked: dict[str, tuple[str, str]] = {}  # reply purpose -> (the request's id, who asked)
    for reply, request_purpose in replies.items():
        request = world()[0].get(request_purpose)
        assert request is not None
        body, sender = example_body(request, example(request_purpose))
        replier = senders_of(world()[0].get(reply))[0]  # type: ignore[arg-type]
        body["to"] = replier.id
        sent = await http.call("POST", "/v1/exchanges", token=tokens[sender.id], json_body=body)
        assert sent.status == 201, sent.text
        asked[reply] = (sent.body["exchange_id"], sender.id)

    # Each sender of a purpose that presumes a relation to the child holds one (issue 19).
    for purpose in purposes():
        if purpose.relation:
            await relate(http, senders_of(purpose)[0].id, BSN_CHILD)
    tried = 0
    for purpose in purposes():
        for path in object_paths(example(purpose.id)):
            payload = example(purpose.id)
            at(payload, path)[EXTRA_KEY] = "x"
            body, sender = example_body(purpose, payload)
            if purpose.id in asked:
                body["in_reply_to"], body["to"] = asked[purpose.id]
            before = await running.gw.storage.log_size()
            answer = await http.call(
                "POST", "/v1/exchanges", token=tokens[sender.id], json_body=body
            )
            where = f"{purpose.id} {pointer(path)}"
            assert answer.status == 422, (where, answer.text)
            error = answer.body["error"]
            assert error["code"] == "payload_not_minimal", (where, error)
            assert [v["path"] for v in error["violations"]] == [pointer((*path, EXTRA_KEY))]
            # The refusal is logged, and it is the only thing that happened.
            size = await running.gw.storage.log_size()
            assert size == before + 1, where
            tried += 1
    assert tried >= 2 * len(purposes())


# -- 2. consent never reaches outside its scope ----------------------------------------------


def _consent_only(purpose: Purpose) -> bool:
    """Every ground of the purpose needs agreement, as far as `decide_body` can tell: a ground
    that needs a fact the decision is not given here (the child's OTS, the subject's age) never
    holds. A statutory ground towards a team with the college's mandate (a partner's property,
    issue 19) does, so such a purpose is not consent-only."""
    return all(
        g.agreement_required or g.conditions.requires_measure or g.conditions.subjects
        for g in (purpose.ground, *purpose.direction_grounds)
    )


CONSENT_PURPOSES = [p for p in purposes() if _consent_only(p)]
DAYS = st.dates(date(2026, 1, 1), date(2027, 12, 31))


@st.composite
def consent_records(
    draw: st.DrawFn, index: int, purpose: str, sender: str, to: list[Partner], now: datetime
) -> ConsentRecord:
    """A record with an arbitrary scope, window and withdrawal, often close to the exchange's.

    Each aspect often includes the exchange's own value (or lies around its moment),
    so that a good share of the drawn sets do cover it and the property is tested both ways.
    """
    partner_ids = [p.id for p in exchange_partners()]
    scopes = partner_ids + [f"kind:{kind}" for kind in KINDS]
    near = [r.id for r in to] + [f"kind:{r.kind}" for r in to]

    def scope(pool: list[str], own: list[str]) -> frozenset[str]:
        drawn = draw(st.frozensets(st.sampled_from(pool), max_size=3))
        if draw(st.sampled_from((True, True, True, False))):
            drawn |= {draw(st.sampled_from(own))}
        return drawn

    day = now.astimezone(DUTCH_TIME).date()
    valid_from = draw(DAYS | st.integers(-3, 2).map(lambda d: day + timedelta(d)))
    valid_until = draw(
        st.none()
        | st.integers(1, 400).map(lambda d: valid_from + timedelta(d))
        | st.integers(1, 3).map(lambda d: max(day, valid_from + timedelta(1)) + timedelta(d - 1))
    )
    withdrawn = draw(
        st.none()
        | st.datetimes(datetime(2026, 1, 1), datetime(2028, 1, 1), timezones=st.just(UTC))
        | st.integers(-7200, 7200).map(lambda s: now + timedelta(seconds=s))
    )
    return consent(
        f"cns-{index}",
        purposes_=scope([p.id for p in CONSENT_PURPOSES], [purpose]),
        senders=scope(partner_ids, [sender]),
        recipients=scope(scopes, near),
        valid_from=valid_from,
        valid_until=valid_until,
        withdrawn_at=withdrawn,
    )


# Moments near Dutch midnight are where a UTC date and a Dutch date differ.
MOMENTS = st.builds(
    lambda day, minutes: (
        datetime.combine(day, time(0, 0), DUTCH_TIME).astimezone(UTC) + timedelta(minutes=minutes)
    ),
    DAYS,
    st.integers(-150, 150) | st.integers(0, 24 * 60 - 1),
)


def within_scope(
    record: ConsentRecord, purpose: str, sender: str, recipient: Partner, now: datetime
) -> list[str]:
    """Every way the exchange lies outside the record (empty: inside), by the record's fields."""
    outside = []
    if purpose not in record.purposes:
        outside.append("purpose")
    if sender not in record.senders:
        outside.append("sender")
    if recipient.id not in record.recipients and f"kind:{recipient.kind}" not in record.recipients:
        outside.append("recipient")
    day = now.astimezone(DUTCH_TIME).date()
    if day < record.valid_from or (record.valid_until is not None and day >= record.valid_until):
        outside.append("validity window")
    if record.withdrawn_at is not None and record.withdrawn_at <= now:
        outside.append("withdrawn")
    return outside


@settings(max_examples=400, deadline=None)
@given(data=st.data(), now=MOMENTS)
def test_no_consent_set_allows_an_exchange_outside_its_purposes_parties_or_window(
    data: st.DataObject, now: datetime
) -> None:
    purpose = pick(data, CONSENT_PURPOSES, "purpose")
    sender = pick(data, senders_of(purpose), "sender")
    candidates = recipients_of(purpose, sender)
    chosen = data.draw(
        st.lists(st.sampled_from([c.id for c in candidates]), min_size=1, max_size=3, unique=True),
        label="to",
    )
    recipients = [c for c in candidates if c.id in chosen]
    count = data.draw(st.integers(0, 5), label="records")
    records = [
        data.draw(consent_records(i, purpose.id, sender.id, recipients, now), f"record {i}")
        for i in range(count)
    ]
    fan_out = data.draw(st.booleans(), label="fan_out")
    body = {
        "purpose": purpose.id,
        "to": [r.id for r in recipients],
        "subject": {"bsn": BSN_CHILD},
        "payload": example(purpose.id),
    }
    try:
        decision = decide_body(body, sender, records, now, fan_out=fan_out)
    except ConsentRequired:
        event("refused")
        return
    event("allowed")
    by_id = {r.consent_id: r for r in records}
    for outcome in decision.allowed:
        assert outcome.legal_basis is not None
        assert outcome.legal_basis.type == "consent"
        assert outcome.consent_id in by_id
        recipient = next(r for r in recipients if r.id == outcome.recipient)
        record = by_id[outcome.consent_id]
        assert within_scope(record, purpose.id, sender.id, recipient, now) == []


BREAKS = ("purpose", "sender", "recipient", "before_window", "after_window", "withdrawn")


def broken(
    record: ConsentRecord, how: str, purpose: str, sender: str, now: datetime
) -> ConsentRecord:
    """The record made not to cover the exchange in exactly one way."""
    day = now.astimezone(DUTCH_TIME).date()
    fields: dict[str, Any] = {
        "purposes_": record.purposes,
        "senders": record.senders,
        "recipients": record.recipients,
        "valid_from": record.valid_from,
        "valid_until": record.valid_until,
        "withdrawn_at": record.withdrawn_at,
    }
    if how == "purpose":
        fields["purposes_"] = record.purposes - {purpose}
    elif how == "sender":
        fields["senders"] = record.senders - {sender}
    elif how == "recipient":
        fields["recipients"] = frozenset()
    elif how == "before_window":
        fields["valid_from"], fields["valid_until"] = day + timedelta(1), None
    elif how == "after_window":
        fields["valid_from"], fields["valid_until"] = day - timedelta(30), day
    else:
        fields["withdrawn_at"] = now
    return consent(record.consent_id + f"-{how}", **fields)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), now=MOMENTS)
def test_consents_each_outside_the_exchange_in_one_way_never_add_up_to_an_allowance(
    data: st.DataObject, now: datetime
) -> None:
    purpose = pick(data, CONSENT_PURPOSES, "purpose")
    sender = pick(data, senders_of(purpose), "sender")
    recipient = pick(data, recipients_of(purpose, sender), "to")
    day = now.astimezone(DUTCH_TIME).date()
    covering = consent(
        "cns-covering",
        purposes_=frozenset({purpose.id})
        | data.draw(st.frozensets(st.sampled_from([p.id for p in CONSENT_PURPOSES]))),
        senders=frozenset({sender.id}),
        recipients=frozenset(
            {data.draw(st.sampled_from([recipient.id, f"kind:{recipient.kind}"]))}
        ),
        valid_from=day - timedelta(data.draw(st.integers(0, 300))),
        valid_until=data.draw(st.none() | st.integers(1, 300).map(lambda d: day + timedelta(d))),
    )
    breaks = data.draw(
        st.lists(st.sampled_from(BREAKS), min_size=1, max_size=len(BREAKS)), "breaks"
    )
    records = [broken(covering, how, purpose.id, sender.id, now) for how in breaks]
    body = {
        "purpose": purpose.id,
        "to": recipient.id,
        "subject": {"bsn": BSN_CHILD},
        "payload": example(purpose.id),
    }
    # Between them the records cover every aspect; none covers all of them at once.
    with pytest.raises(ConsentRequired):
        decide_body(body, sender, records, now)
    # The unbroken record does allow it, so the refusal above came from the breaks alone.
    decision = decide_body(body, sender, [*records, covering], now)
    assert [(r.recipient, r.consent_id) for r in decision.allowed] == [
        (recipient.id, "cns-covering")
    ]


def test_breaking_a_record_really_takes_the_exchange_out_of_its_scope() -> None:
    """The helper the property leans on: each break leaves exactly one aspect uncovered."""
    purpose = CONSENT_PURPOSES[0]
    sender = senders_of(purpose)[0]
    recipient = recipients_of(purpose, sender)[0]
    now = datetime(2026, 6, 1, 22, 30, tzinfo=UTC)  # already 2 June in the Netherlands
    covering = consent(
        "c",
        purposes_=frozenset({purpose.id}),
        senders=frozenset({sender.id}),
        recipients=frozenset({recipient.id}),
    )
    assert within_scope(covering, purpose.id, sender.id, recipient, now) == []
    expected = {
        "purpose": ["purpose"],
        "sender": ["sender"],
        "recipient": ["recipient"],
        "before_window": ["validity window"],
        "after_window": ["validity window"],
        "withdrawn": ["withdrawn"],
    }
    for how in BREAKS:
        record = broken(covering, how, purpose.id, sender.id, now)
        assert within_scope(record, purpose.id, sender.id, recipient, now) == expected[how], how
