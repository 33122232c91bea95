"""Scorecards, dispute rules, policy edits and interval estimates, without I/O."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.audit.domain.disputes import (
    Challenger,
    DisputeRefused,
    NotDisputable,
    check_disputable,
    check_overturn,
    raised_by,
)
from services.audit.domain.policies import PolicyChangeRefused, check_policy_update
from services.audit.domain.scoring import (
    Criterion,
    CriterionAnswer,
    Rubric,
    Scorecard,
    next_version,
    qa_score,
)
from services.audit.domain.stats import proportion
from services.audit.domain.verdicts import InvalidVerdict, Submission
from shared.events import Action, Outcome
from shared.taxonomy import Policy, PolicyVersion, load_taxonomy
from tests.support.builders import a_verdict

P, F, NA = CriterionAnswer.PASS, CriterionAnswer.FAIL, CriterionAnswer.NA
RUBRIC = Rubric(
    queue="video",
    name="Video QA",
    criteria=[
        Criterion(id="right_action", text="action fits", weight=3, critical=True),
        Criterion(id="policy_cited", text="policy cited", weight=1),
        Criterion(id="notes", text="notes", weight=1),
    ],
)
CARD = Scorecard(scorecard_id="video-qa", version=1, rubric=RUBRIC)


@pytest.mark.parametrize(
    ("answers", "score"),
    [
        ({"right_action": P, "policy_cited": P, "notes": P}, 100.0),
        ({"right_action": P, "policy_cited": F, "notes": NA}, 75.0),
        ({"right_action": P, "policy_cited": F, "notes": F}, 60.0),
        ({"right_action": F, "policy_cited": P, "notes": P}, 0.0),
    ],
)
def test_the_qa_score_weighs_applicable_criteria_and_a_critical_failure_fails_all(
    answers: dict[str, CriterionAnswer], score: float
) -> None:
    assert qa_score(CARD, answers) == score


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"right_action": P, "policy_cited": P}, "missing notes"),
        ({"right_action": P, "policy_cited": P, "notes": P, "extra": P}, "unknown criteria extra"),
        ({"right_action": NA, "policy_cited": P, "notes": P}, "cannot be 'na'"),
    ],
)
def test_answers_must_fit_the_rubric(answers: dict[str, CriterionAnswer], message: str) -> None:
    with pytest.raises(InvalidVerdict, match=message):
        qa_score(CARD, answers)


def test_a_scorecard_gets_a_new_version_per_edit_and_stays_with_its_queue() -> None:
    first = next_version("video-qa", RUBRIC, None)
    second = next_version("video-qa", RUBRIC, first)
    assert (first.version, second.version) == (1, 2)
    with pytest.raises(ValueError, match="belongs to queue 'video'"):
        next_version("video-qa", RUBRIC.model_copy(update={"queue": "live"}), second)
    with pytest.raises(ValueError, match="repeat"):
        Rubric(queue="video", name="x", criteria=[RUBRIC.criteria[0], RUBRIC.criteria[0]])


TOOL = Challenger(subject="moderation-tool", as_system=True, as_lead=False, led_teams=frozenset())
LEAD_A = Challenger(
    subject="lead-a", as_system=False, as_lead=True, led_teams=frozenset({"team-a"})
)


def test_a_moderator_disputes_through_the_tool_and_a_lead_for_their_team() -> None:
    who = {"moderator_id": "mod-1", "moderator_team": "team-a"}
    assert raised_by(TOOL, on_behalf_of="mod-1", **who) == "mod-1"
    assert raised_by(LEAD_A, on_behalf_of=None, **who) == "lead-a"
    with pytest.raises(DisputeRefused, match="only the moderator"):
        raised_by(TOOL, on_behalf_of="mod-2", **who)
    with pytest.raises(DisputeRefused, match="name the moderator"):
        raised_by(TOOL, on_behalf_of=None, **who)
    with pytest.raises(DisputeRefused, match="system role"):
        raised_by(LEAD_A, on_behalf_of="mod-1", **who)
    with pytest.raises(DisputeRefused, match="team 'team-b'"):
        raised_by(LEAD_A, on_behalf_of=None, moderator_id="mod-1", moderator_team="team-b")


def test_only_a_final_unamended_undisputed_verdict_can_be_disputed() -> None:
    check_disputable(a_verdict(), superseded=False, disputed_before=False)
    cases = [
        (a_verdict(final=False), {}, "only a final verdict"),
        (a_verdict(supersedes="v-0"), {}, "amendment"),
        (a_verdict(), {"superseded": True}, "superseded"),
        (a_verdict(), {"disputed_before": True}, "disputed before"),
    ]
    for verdict, flags, message in cases:
        with pytest.raises(NotDisputable, match=message):
            check_disputable(
                verdict,
                superseded=flags.get("superseded", False),
                disputed_before=flags.get("disputed_before", False),
            )


def test_an_overturn_must_change_the_judgement() -> None:
    wrong = Submission(outcome=Outcome.INCORRECT, expected_action=Action.APPROVE)
    check_overturn(wrong, Submission(outcome=Outcome.CORRECT))
    with pytest.raises(InvalidVerdict, match="uphold"):
        check_overturn(wrong, wrong)


def test_published_policy_versions_never_change() -> None:
    spam = load_taxonomy().policy("spam")
    assert spam is not None
    added = PolicyVersion(version=2, effective_from=dt.date(2027, 1, 1), actions=[Action.APPROVE])
    check_policy_update(None, spam)
    check_policy_update(spam, spam.model_copy(update={"severity": "major"}))
    check_policy_update(spam, spam.model_copy(update={"versions": [*spam.versions, added]}))
    with pytest.raises(PolicyChangeRefused, match="cannot be removed"):
        check_policy_update(spam, spam.model_copy(update={"versions": [added]}))
    changed = spam.versions[0].model_copy(update={"actions": [Action.APPROVE]})
    with pytest.raises(PolicyChangeRefused, match="cannot change"):
        check_policy_update(
            spam, Policy.model_validate({**spam.model_dump(), "versions": [changed]})
        )


def test_a_proportion_carries_its_sample_size_and_wilson_interval() -> None:
    assert proportion(0, 0).rate is None
    p = proportion(8, 10)
    assert (p.successes, p.n, p.rate) == (8, 10, 0.8)
    assert (p.low, p.high) == (0.4902, 0.9433)
    with pytest.raises(ValueError, match="successes <= n"):
        proportion(3, 2)


@given(st.integers(min_value=1, max_value=5000), st.data())
def test_the_interval_always_holds_the_rate(n: int, data: st.DataObject) -> None:
    successes = data.draw(st.integers(min_value=0, max_value=n))
    p = proportion(successes, n)
    assert p.low is not None and p.high is not None and p.rate is not None
    assert 0.0 <= p.low <= p.rate <= p.high <= 1.0
