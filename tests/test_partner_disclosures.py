"""Partners see, and can verify, what was disclosed in their name."""

from __future__ import annotations

import base64

import pytest

from gateway.client.http import GatewayClientError
from gateway.log.checkpoint import open_checkpoint
from gateway.log.merkle import leaf_hash, verify_inclusion
from tests.conftest import BSN_CHILD, BSN_OTHER, example
from tests.helpers import seed_referral


async def test_a_partner_lists_only_entries_it_sent_or_received(running, clients):
    # The provider's relation to the children (issue 19), without entries the log would count.
    await seed_referral(running, "zorg-noord", BSN_CHILD, BSN_OTHER)
    provider, team, school = (
        clients("zorg-noord"),
        clients("swt-denhelder"),
        clients("school-de-es"),
    )
    sent = await provider.send(
        "evaluation-feedback", "swt-denhelder", BSN_CHILD, example("evaluation-feedback")
    )
    await provider.send(
        "evaluation-feedback", "swt-denhelder", BSN_OTHER, example("evaluation-feedback")
    )
    with pytest.raises(GatewayClientError):
        await team.send("closure-notice", "school-de-es", BSN_CHILD, example("closure-notice"))

    mine = (await provider.request("GET", "/v1/disclosures"))["entries"]
    assert {e["decision"] for e in mine} == {"disclosed"}
    assert all("zorg-noord" in (e["sender"]["partner"], e["recipient"]) for e in mine)
    assert sent["disclosures"][0]["log_index"] in [e["index"] for e in mine]
    # The school never learns from its list that a share to it was refused; the team, its
    # sender, does.
    school_view = (await school.request("GET", "/v1/disclosures"))["entries"]
    assert school_view == []
    team_view = (await team.request("GET", "/v1/disclosures"))["entries"]
    assert [(e["reason"], e["recipient"]) for e in team_view if e["decision"] == "refused"] == [
        ("consent_required", "school-de-es")
    ]
    by_child = await provider.request("GET", "/v1/disclosures", params={"bsn": BSN_CHILD})
    assert [e["index"] for e in by_child["entries"]] == [sent["disclosures"][0]["log_index"]]
    page = await provider.request("GET", "/v1/disclosures", params={"limit": "1"})
    assert len(page["entries"]) == 1
    rest = await provider.request("GET", "/v1/disclosures", params={"after": page["next"]})
    assert [e["index"] for e in page["entries"] + rest["entries"]] == [e["index"] for e in mine]


async def test_a_partner_verifies_its_own_entry_against_the_signed_checkpoint(running, clients):
    # The provider's relation to the children (issue 19), without entries the log would count.
    await seed_referral(running, "zorg-noord", BSN_CHILD)
    provider, school = clients("zorg-noord"), clients("school-de-es")
    sent = await provider.send(
        "evaluation-feedback", "swt-denhelder", BSN_CHILD, example("evaluation-feedback")
    )
    index = sent["disclosures"][0]["log_index"]
    with pytest.raises(GatewayClientError) as not_yet:
        await provider.request("GET", f"/v1/disclosures/{index}/proof")
    assert not_yet.value.status == 404
    await running.gw.sequencer().integrate()

    proof = await provider.request("GET", f"/v1/disclosures/{index}/proof")
    checkpoint = open_checkpoint(
        proof["checkpoint"], running.gw.log_verifiers, origin=running.gw.settings.log_origin
    )
    leaf = base64.b64decode(proof["leaf"])
    assert b'"disclosure_id":"' + sent["disclosures"][0]["disclosure_id"].encode() in leaf
    verify_inclusion(
        leaf_hash(leaf),
        index,
        proof["tree_size"],
        [base64.b64decode(h) for h in proof["hashes"]],
        checkpoint.root_hash,
    )
    with pytest.raises(GatewayClientError) as other:
        await school.request("GET", f"/v1/disclosures/{index}/proof")
    assert (other.value.status, other.value.code) == (404, "not_found")
