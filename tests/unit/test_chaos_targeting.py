"""The chaos harness replays targeting rule states on its own (tools/chaos/invariants.py) to
recompute the selection independently of the sampler: it must agree with the sampler's index
on any history of rule states."""

from __future__ import annotations

from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from services.sampler.domain.selection import TargetingEntry, TargetingIndex
from tools.chaos.invariants import Targeting

MODERATORS = ("mod-1", "mod-2")
SUBJECTS = st.one_of(
    st.sampled_from(MODERATORS).map(lambda m: (m, None, None)),
    st.sampled_from([("KR", "hate"), ("DE", "spam")]).map(lambda mp: (None, *mp)),
)
STATES = st.lists(
    st.tuples(
        st.sampled_from(["r1", "r2", "r3"]),
        SUBJECTS,
        st.integers(0, 100),  # effective_from
        st.integers(0, 100),  # updated_at
        st.integers(0, 150),  # expires_at
        st.sampled_from([0.2, 0.5, 1.0]),
        st.booleans(),
    ),
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(STATES, st.integers(-5, 160), st.sampled_from(MODERATORS), st.sampled_from(["KR", "DE"]))
def test_the_harness_replays_targeting_as_the_sampler_does(
    states: list, instant: int, moderator: str, market: str
) -> None:
    # a rule keeps its subject across its states, as the escalation service publishes them
    subject_of: dict[str, tuple[str | None, str | None, str | None]] = {}
    for rule_id, subject, *_ in states:
        subject_of.setdefault(rule_id, subject)
    rows = [
        {
            "rule_id": rule_id,
            "moderator_id": subject_of[rule_id][0],
            "market": subject_of[rule_id][1],
            "policy_id": subject_of[rule_id][2],
            "effective_from": float(start),
            "updated_at": float(updated),
            "expires_at": float(expires),
            "rate": rate,
            "active": active,
        }
        for rule_id, _, start, updated, expires, rate, active in states
    ]
    sampler = TargetingIndex(TargetingEntry(**row) for row in rows)
    harness = Targeting.of([dict(row) for row in rows])
    policy = "hate" if market == "KR" else "spam"
    decision = SimpleNamespace(moderator_id=moderator, market=market, policy_id=policy)
    assert harness.rate(moderator, market, policy, instant) == sampler.rate(decision, instant)  # type: ignore[arg-type]
