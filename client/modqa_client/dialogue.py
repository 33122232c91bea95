"""The questions of the review loop: what an auditor answers about one task, with only the
choices the policy taxonomy allows on offer (blind tasks: label the content instead)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from rich.markup import escape

from modqa_client.judgement import APPROVE, InvalidChoice, Taxonomy, blind_label, review_label
from modqa_client.keys import ENTER, Keys
from modqa_client.models import Task
from modqa_client.output import console


class Skip(Exception):
    """The auditor hands the task back."""


class Quit(Exception):
    """The auditor stops for now (the task stays leased to them)."""


@dataclass
class Dialogue:
    keys: Keys
    taxonomy: Taxonomy

    def verdict(self, task: Task) -> dict[str, Any]:
        """Ask until the answer is valid: the label, the scorecard, then notes."""
        while True:
            try:
                body = self._blind(task) if task.blind else self._review(task)
            except InvalidChoice as problem:
                console.print(f"[red]{problem}[/]")
                continue
            if task.scorecard:
                body["scorecard"] = self._scorecard(task)
            body["notes"] = self.keys.line("Notes (Enter for none):")
            return body

    def _review(self, task: Task) -> dict[str, Any]:
        choice = self.keys.key(
            menu(
                ("c", "correct"), ("i", "incorrect"), ("u", "unsure"), ("s", "skip"), ("q", "quit")
            ),
            "ciusq",
        )
        self._leave(choice)
        outcome = {"c": "correct", "i": "incorrect", "u": "unsure"}[choice]
        if outcome != "incorrect":
            return review_label(self.taxonomy, task.decision, outcome=outcome, on=_today())
        own = str(task.decision.get("policy_id"))
        policy = self._policy(f"Policy that applies (Enter: {own}, the decision's):", own)
        action = self._action(task, policy, exclude=())
        return review_label(
            self.taxonomy,
            task.decision,
            outcome="incorrect",
            expected_action=action,
            expected_policy_id=policy,
            on=_today(),
        )

    def _blind(self, task: Task) -> dict[str, Any]:
        choice = self.keys.key(
            "Label the content: "
            + menu(
                ("a", "approve (no violation)"),
                ("v", "violates a policy"),
                ("u", "unsure"),
                ("s", "skip"),
                ("q", "quit"),
            ),
            "avusq",
        )
        self._leave(choice)
        if choice in "au":
            return blind_label(
                self.taxonomy,
                task.decision,
                expected_action=APPROVE if choice == "a" else None,
                unsure=choice == "u",
                on=_today(),
            )
        policy = self._policy("Policy it violates:", None)
        action = self._action(task, policy, exclude=(APPROVE,))
        return blind_label(
            self.taxonomy,
            task.decision,
            expected_action=action,
            expected_policy_id=policy,
            on=_today(),
        )

    def _leave(self, choice: str) -> None:
        if choice == "s":
            raise Skip
        if choice == "q":
            raise Quit

    def _policy(self, prompt: str, default: str | None) -> str:
        """A policy by number or id (Enter: the default)."""
        ids = [p.id for p in self.taxonomy.policies]
        console.print("  ".join(f"[bold]{n}[/] {pid}" for n, pid in enumerate(ids, start=1)))
        while True:
            answer = self.keys.line(prompt)
            if not answer and default:
                return default
            if answer.isdigit() and 1 <= int(answer) <= len(ids):
                return ids[int(answer) - 1]
            if answer in ids:
                return answer
            console.print(f"[red]type a number from 1 to {len(ids)} or a policy id[/]")

    def _action(self, task: Task, policy_id: str, exclude: tuple[str, ...]) -> str:
        """The expected action, one key among those the policy's version allows."""
        allowed = [
            a for a in self.taxonomy.actions(policy_id, task.decision, _today()) if a not in exclude
        ]
        if not allowed:
            raise InvalidChoice(f"policy '{policy_id}' allows no action here")
        keys = [str(n) for n in range(1, len(allowed) + 1)]
        options = menu(*zip(keys, allowed, strict=True))
        chosen = self.keys.key(f"Expected action under {policy_id}: {options}", keys)
        return allowed[int(chosen) - 1]

    def _scorecard(self, task: Task) -> dict[str, str]:
        assert task.scorecard is not None
        answers = {}
        for criterion in task.scorecard.criteria:
            key = self.keys.key(
                f"  {escape(criterion.text)} " + menu(("p", "pass"), ("f", "fail"), ("n", "n/a")),
                "pfn",
            )
            answers[criterion.id] = {"p": "pass", "f": "fail", "n": "na"}[key]
        return answers


def menu(*options: tuple[str, str]) -> str:
    """`[c] correct  [i] incorrect ... >` with the keys in bold (Rich markup)."""
    return "  ".join(f"[bold]\\[{key}][/] {escape(text)}" for key, text in options) + " >"


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


__all__ = ["ENTER", "Dialogue", "Quit", "Skip"]
