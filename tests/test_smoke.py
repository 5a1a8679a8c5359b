from __future__ import annotations

from tests.conftest import BSN_CHILD, example
from tests.helpers import seed_referral


async def test_evaluation_feedback_reaches_the_social_team(running, clients):
    # The provider's relation to the child (issue 19), without entries the log would count.
    await seed_referral(running, "zorg-noord", BSN_CHILD)
    provider = clients("zorg-noord")
    team = clients("swt-denhelder")
    result = await provider.send(
        "evaluation-feedback", "swt-denhelder", BSN_CHILD, example("evaluation-feedback")
    )
    assert result["legal_basis"]["type"] == "statute"
    page = await team.inbox()
    assert page["messages"][0]["payload"] == example("evaluation-feedback")
    await team.ack(page["messages"][0]["id"])
    assert (await team.inbox())["messages"] == []
