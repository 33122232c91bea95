"""Synthetic moderation decisions with known ground truth, reproducible from the decision id.

Decision `i` of a run is a pure function of (seed, i): the simulated auditors recompute its
truth from the id alone, so nothing has to be remembered between producing and auditing.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from shared.events import (
    Action,
    AutomatedDecision,
    ContentType,
    Decision,
    DecisionGround,
    ModeratorKind,
    Source,
)
from shared.taxonomy import Taxonomy

MARKETS = {"KR": "ko", "ID": "id", "US": "en", "DE": "de", "BR": "pt", "JP": "ja"}
MARKET_WEIGHTS = {"KR": 0.22, "ID": 0.2, "US": 0.25, "DE": 0.13, "BR": 0.12, "JP": 0.08}
QUEUES = {"video": ContentType.VIDEO, "live": ContentType.LIVE_STREAM, "comments": ContentType.TEXT}
QUEUE_WEIGHTS = {"video": 0.45, "live": 0.15, "comments": 0.4}
VIOLATION_SHARE = 0.3
"""Share of reviewed content that does violate a policy (reviewed content is pre-filtered)."""
POLICY_WEIGHTS = {
    "spam": 0.24,
    "hate_speech": 0.14,
    "harassment": 0.14,
    "adult_nudity": 0.12,
    "graphic_violence": 0.08,
    "scams_fraud": 0.1,
    "misinformation": 0.08,
    "ip_infringement": 0.05,
    "self_harm": 0.025,
    "violent_extremism": 0.015,
    "child_safety": 0.01,
}
ENFORCE_ACTION = {
    "spam": Action.REMOVE,
    "hate_speech": Action.REMOVE,
    "harassment": Action.REMOVE,
    "adult_nudity": Action.AGE_RESTRICT,
    "graphic_violence": Action.AGE_RESTRICT,
    "scams_fraud": Action.REMOVE,
    "misinformation": Action.LABEL,
    "ip_infringement": Action.REMOVE,
    "self_harm": Action.REMOVE,
    "violent_extremism": Action.REMOVE,
    "child_safety": Action.REMOVE,
}


@dataclass(frozen=True)
class Moderator:
    moderator_id: str
    kind: ModeratorKind
    team: str
    market: str
    error_rate: float
    started_at: dt.date


@dataclass(frozen=True)
class Truth:
    """What the content really is: the violated policy (None when benign) and the right action."""

    policy_id: str | None
    action: Action


def roster(seed: int) -> list[Moderator]:
    """Human teams per market with differing error rates, and a few classifiers."""
    rng = random.Random(f"roster-{seed}")
    people = []
    for market in MARKETS:
        for team_no in (1, 2):
            for n in range(6):
                people.append(
                    Moderator(
                        moderator_id=f"mod-{market.lower()}-{team_no}{n:02d}",
                        kind=ModeratorKind.HUMAN,
                        team=f"{market.lower()}-team-{team_no}",
                        market=market,
                        error_rate=rng.choice([0.02, 0.03, 0.05, 0.05, 0.08, 0.15]),
                        started_at=dt.date(2026, 11, 1) if n == 5 else dt.date(2024, 3, 1),
                    )
                )
    machines = [
        Moderator(
            f"model-{name}", ModeratorKind.MACHINE, "ml-platform", "US", err, dt.date(2025, 6, 1)
        )
        for name, err in (("video-v7", 0.06), ("text-v12", 0.09), ("live-v2", 0.12))
    ]
    return people + machines


class DecisionStream:
    """Decision `i` of the run, and its truth, both reproducible from the seed and `i`."""

    def __init__(self, taxonomy: Taxonomy, seed: int = 7) -> None:
        self._taxonomy = taxonomy
        self._seed = seed
        self._moderators = roster(seed)
        self._by_market: dict[str, list[Moderator]] = {}
        for m in self._moderators:
            if m.kind is ModeratorKind.HUMAN:
                self._by_market.setdefault(m.market, []).append(m)
        self._machines = [m for m in self._moderators if m.kind is ModeratorKind.MACHINE]

    def decision_id(self, i: int) -> str:
        return f"demo-{self._seed}-{i:010d}"

    @staticmethod
    def index_of(decision_id: str) -> int:
        """The `i` of a demo decision id."""
        return int(decision_id.rsplit("-", 1)[1])

    def truth(self, i: int) -> Truth:
        """Ground truth of decision `i`."""
        rng = self._rng(i, "truth")
        if rng.random() >= VIOLATION_SHARE:
            return Truth(policy_id=None, action=Action.APPROVE)
        policy_id = _weighted(rng, POLICY_WEIGHTS)
        return Truth(policy_id=policy_id, action=ENFORCE_ACTION[policy_id])

    def mistaken(self, truth: Truth, decision: dict[str, object]) -> Truth:
        """What an auditor who slips believes: the decision was right when it was not, or a
        violation where there is none."""
        if truth.action is not Action.APPROVE or decision.get("action") != Action.APPROVE.value:
            return Truth(policy_id=None, action=Action.APPROVE)
        policy_id = str(decision.get("policy_id") or "spam")
        return Truth(policy_id=policy_id, action=ENFORCE_ACTION.get(policy_id, Action.REMOVE))

    def decision(self, i: int, decided_at: dt.datetime) -> Decision:
        """Decision `i`: who took it, on what, and what they did (right or wrong)."""
        rng = self._rng(i, "decision")
        market = _weighted(rng, MARKET_WEIGHTS)
        queue = _weighted(rng, QUEUE_WEIGHTS)
        machine = rng.random() < 0.35
        moderator = rng.choice(self._machines if machine else self._by_market[market])
        truth = self.truth(i)
        confidence = round(rng.uniform(0.5, 0.999), 3) if machine else None
        error_rate = moderator.error_rate
        if confidence is not None and confidence < 0.7:
            error_rate *= 2.5
        policy_id, action = self._act(rng, truth, error_rate)
        policy = self._taxonomy.policy(policy_id)
        assert policy is not None
        version = policy.current(decided_at.date())
        content_id = f"{queue}-{i:010d}"
        return Decision(
            decision_id=self.decision_id(i),
            content_id=content_id,
            content_type=QUEUES[queue],
            content_ref=f"https://content.example/{queue}/{content_id}",
            queue=queue,
            market=market,
            language=MARKETS[market],
            moderator_id=moderator.moderator_id,
            moderator_kind=moderator.kind,
            moderator_team=moderator.team,
            policy_id=policy_id,
            policy_version=version.version,
            action=action,
            confidence=confidence,
            source=rng.choice([Source.REPORT, Source.REPORT, Source.PROACTIVE, Source.APPEAL]),
            decided_at=decided_at,
            moderator_started_at=moderator.started_at,
            automated_detection=machine or rng.random() < 0.4,
            automated_decision=AutomatedDecision.FULLY
            if machine
            else AutomatedDecision.NOT_AUTOMATED,
            decision_ground=policy.decision_ground or DecisionGround.TERMS,
            category=policy.dsa_category,
            territorial_scope=[market],
        )

    def _act(self, rng: random.Random, truth: Truth, error_rate: float) -> tuple[str, Action]:
        """What the moderator did: the truth, or (at their error rate) a mistake."""
        if rng.random() >= error_rate:
            if truth.policy_id is None:
                return _weighted(rng, POLICY_WEIGHTS), Action.APPROVE
            return truth.policy_id, truth.action
        if truth.policy_id is None:
            wrong_policy = _weighted(rng, POLICY_WEIGHTS)
            return wrong_policy, ENFORCE_ACTION[wrong_policy]
        if rng.random() < 0.7:
            return truth.policy_id, Action.APPROVE
        other = _weighted(rng, POLICY_WEIGHTS)
        return other, ENFORCE_ACTION[other]

    def _rng(self, i: int, purpose: str) -> random.Random:
        return random.Random(f"{self._seed}-{purpose}-{i}")


def _weighted(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]
