"""Verdicts are checked against the policy taxonomy before they leave the client, and the
review dialogue offers only the choices the taxonomy allows (blind tasks: a label)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from modqa_client.dialogue import Dialogue, Quit, Skip
from modqa_client.judgement import (
    InvalidChoice,
    Taxonomy,
    blind_label,
    review_label,
    scorecard_answers,
)
from modqa_client.models import PolicyEntry, Task

TODAY = dt.date(2026, 11, 20)
TAXONOMY = Taxonomy.of(
    [
        PolicyEntry.model_validate({"policy": p})
        for p in (
            {
                "id": "child_safety",
                "name": "Child safety",
                "severity": "critical",
                "versions": [
                    {
                        "version": 1,
                        "effective_from": "2025-01-01",
                        "actions": ["approve", "remove"],
                    },
                    {
                        "version": 2,
                        "effective_from": "2026-09-01",
                        "actions": ["approve", "remove", "suspend_account"],
                    },
                ],
            },
            {
                "id": "spam",
                "name": "Spam",
                "severity": "minor",
                "versions": [
                    {
                        "version": 1,
                        "effective_from": "2025-01-01",
                        "actions": ["approve", "demote", "remove"],
                    }
                ],
            },
        )
    ]
)
DECISION = {"policy_id": "child_safety", "policy_version": 1, "action": "approve"}


def test_an_incorrect_verdict_names_an_action_the_judged_policy_version_allows() -> None:
    label = review_label(
        TAXONOMY, DECISION, outcome="incorrect", expected_action="remove", on=TODAY
    )
    assert label == {
        "outcome": "incorrect",
        "expected_action": "remove",
        "expected_policy_id": "child_safety",
        "notes": "",
    }
    # the decision was taken under v1, which has no suspension (v2, in force today, has)
    with pytest.raises(InvalidChoice, match="allowed: approve, remove"):
        review_label(
            TAXONOMY, DECISION, outcome="incorrect", expected_action="suspend_account", on=TODAY
        )
    # another policy is judged in its version in force
    label = review_label(
        TAXONOMY,
        DECISION,
        outcome="incorrect",
        expected_action="demote",
        expected_policy_id="spam",
        on=TODAY,
    )
    assert label["expected_policy_id"] == "spam"


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"outcome": "incorrect"}, "needs the expected action"),
        ({"outcome": "incorrect", "expected_action": "approve"}, "that is what the moderator did"),
        ({"outcome": "correct", "expected_action": "remove"}, "needs no expected action"),
        ({"outcome": "wrong"}, "is not one of"),
        (
            {"outcome": "incorrect", "expected_action": "remove", "expected_policy_id": "nope"},
            "unknown policy 'nope' \\(known: child_safety, spam\\)",
        ),
    ],
)
def test_contradictory_verdicts_are_refused_with_the_reason(
    fields: dict[str, Any], problem: str
) -> None:
    with pytest.raises(InvalidChoice, match=problem):
        review_label(TAXONOMY, DECISION, on=TODAY, **fields)


def test_a_blind_review_sends_a_label_and_no_outcome() -> None:
    hidden = {"content_ref": "https://x"}  # what a blind auditor sees: no action, no policy
    assert blind_label(TAXONOMY, hidden, expected_action="approve", on=TODAY) == {
        "expected_action": "approve",
        "notes": "",
    }
    assert blind_label(
        TAXONOMY,
        hidden,
        expected_action="suspend_account",
        expected_policy_id="child_safety",
        on=TODAY,
    ) == {"expected_action": "suspend_account", "expected_policy_id": "child_safety", "notes": ""}
    assert blind_label(TAXONOMY, hidden, unsure=True, on=TODAY) == {
        "outcome": "unsure",
        "notes": "",
    }
    with pytest.raises(InvalidChoice, match="name the policy"):
        blind_label(TAXONOMY, hidden, expected_action="remove", on=TODAY)


def test_every_scorecard_criterion_is_answered_pass_fail_or_na() -> None:
    assert scorecard_answers(["a", "b"], {"a": "pass", "b": "na"}) == {"a": "pass", "b": "na"}
    with pytest.raises(InvalidChoice, match="answer b"):
        scorecard_answers(["a", "b"], {"a": "pass"})
    with pytest.raises(InvalidChoice, match="unknown criteria c"):
        scorecard_answers(["a"], {"a": "pass", "c": "fail"})
    with pytest.raises(InvalidChoice, match="a=maybe"):
        scorecard_answers(["a"], {"a": "maybe"})


class ScriptedKeys:
    """Answers given in order, as a person would type them."""

    def __init__(self, answers: Sequence[str]) -> None:
        self.answers: Iterator[str] = iter(answers)
        self.prompts: list[str] = []

    def key(self, prompt: str, choices: Sequence[str]) -> str:
        self.prompts.append(prompt)
        answer = next(self.answers)
        assert answer in choices, f"{answer!r} not offered in {prompt!r} ({choices})"
        return answer

    def line(self, prompt: str) -> str:
        self.prompts.append(prompt)
        return next(self.answers)


def a_task(blind: bool, **extra: Any) -> Task:
    decision = {"content_ref": "https://x"} if blind else dict(DECISION)
    return Task.model_validate(
        {
            "task_id": "t-1",
            "decision": decision,
            "blind": blind,
            "due_at": "2026-11-21T00:00:00Z",
            "lease_expires_at": "2026-11-20T12:10:00Z",
            **extra,
        }
    )


def dialogue(*answers: str) -> tuple[Dialogue, ScriptedKeys]:
    keys = ScriptedKeys(answers)
    return Dialogue(keys, TAXONOMY), keys  # type: ignore[arg-type]


def test_the_dialogue_offers_only_the_actions_of_the_decisions_policy_version() -> None:
    talk, keys = dialogue("i", "", "2", "should be removed")
    body = talk.verdict(a_task(blind=False))
    assert body == {
        "outcome": "incorrect",
        "expected_action": "remove",
        "expected_policy_id": "child_safety",
        "notes": "should be removed",
    }
    assert "[1] approve  [2] remove >" in keys.prompts[2].replace("[bold]\\", "").replace("[/]", "")


def test_the_dialogue_asks_again_after_a_contradiction() -> None:
    # incorrect with the moderator's own action is refused, then the auditor says correct
    talk, _ = dialogue("i", "", "1", "c", "")
    assert talk.verdict(a_task(blind=False)) == {"outcome": "correct", "notes": ""}


def test_a_blind_task_is_labelled_by_policy_and_action_without_approve_on_offer() -> None:
    talk, keys = dialogue("v", "1", "2", "")
    body = talk.verdict(a_task(blind=True))
    assert body == {
        "expected_action": "suspend_account",
        "expected_policy_id": "child_safety",
        "notes": "",
    }
    assert "approve" not in keys.prompts[2].split("under child_safety:")[1]


def test_a_scorecard_is_answered_key_by_key() -> None:
    card = {
        "scorecard_id": "sc",
        "version": 3,
        "queue": "video",
        "name": "Video QA",
        "criteria": [{"id": "policy", "text": "Right policy?"}, {"id": "tone", "text": "Tone?"}],
    }
    talk, _ = dialogue("a", "p", "n", "")
    body = talk.verdict(a_task(blind=True, scorecard=card))
    assert body["scorecard"] == {"policy": "pass", "tone": "na"}


def test_skip_and_quit_leave_the_dialogue() -> None:
    with pytest.raises(Skip):
        dialogue("s")[0].verdict(a_task(blind=False))
    with pytest.raises(Quit):
        dialogue("q")[0].verdict(a_task(blind=True))
