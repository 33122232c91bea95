"""Golden samples of every event must keep parsing: schema changes stay additive."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.codec import parse
from shared.events import (
    Correction,
    Decision,
    Dispute,
    DriftSignal,
    Escalation,
    TargetingRule,
    Task,
    Verdict,
    decode_any,
    encode,
)
from tools.export_schemas import SCHEMAS_DIR, rendered

HERE = Path(__file__).parent
SAMPLES = {
    "decision.v1.json": Decision,
    "decision.v1.minimal.json": Decision,
    "task.v1.json": Task,
    "verdict.v1.json": Verdict,
    "verdict.v1.calibration.json": Verdict,
    "dispute.v1.json": Dispute,
    "targeting.v1.json": TargetingRule,
    "drift.v1.json": DriftSignal,
    "escalation.v1.json": Escalation,
    "escalation.v1.policy_gap.json": Escalation,
    "correction.v1.json": Correction,
}


@pytest.mark.parametrize(("name", "model"), SAMPLES.items())
def test_golden_sample_parses_and_round_trips(name: str, model: type) -> None:
    raw = (HERE / name).read_bytes()
    event = parse(model, raw)
    assert isinstance(event, model)
    assert parse(model, encode(event)) == event


@pytest.mark.parametrize("name", [n for n in SAMPLES if "minimal" not in n])
def test_the_envelope_decodes_any_event_by_its_schema_tag(name: str) -> None:
    event = decode_any((HERE / name).read_bytes())
    assert isinstance(event, SAMPLES[name])


def test_timestamps_are_normalised_to_utc() -> None:
    decision = parse(Decision, (HERE / "decision.v1.minimal.json").read_bytes())
    assert decision.decided_at.utcoffset().total_seconds() == 0
    assert decision.decided_at.hour == 8
    assert b'"decided_at":"2026-11-20T08:15:02Z"' in encode(decision)


def test_exported_json_schemas_are_up_to_date() -> None:
    for name, text in rendered().items():
        path = SCHEMAS_DIR / name
        assert path.exists() and path.read_text() == text, f"{name} is stale: run `make schemas`"


def test_a_targeting_rule_names_exactly_one_subject() -> None:
    raw = (HERE / "targeting.v1.json").read_bytes()
    rule = parse(TargetingRule, raw)
    with pytest.raises(Exception, match="either moderator_id"):
        TargetingRule.model_validate({**rule.model_dump(), "market": "KR", "policy_id": "spam"})
