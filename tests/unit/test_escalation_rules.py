"""Rule sets are data: parsed from YAML or JSON, refused with readable problems."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from services.escalation.domain.rules import (
    InvalidRules,
    ModeratorPerformanceRule,
    parse_rules,
    rules_from_document,
)
from services.escalation.rule_handlers import default_rules, default_source
from shared.events import CasePriority


def problems(text: str) -> list[str]:
    with pytest.raises(InvalidRules) as error:
        parse_rules(text)
    return error.value.problems


def test_the_built_in_rules_cover_every_kind_and_round_trip_through_their_document() -> None:
    rules = default_rules()
    assert {rule.kind for rule in rules.rules} == {
        "critical_miss",
        "moderator_performance",
        "policy_gap",
        "dispute",
        "sla_breach",
    }
    assert rules.sla[CasePriority.P0].acknowledge == dt.timedelta(minutes=15)
    assert rules.sla[CasePriority.P0].resolve == dt.timedelta(hours=4)
    assert rules_from_document(json.loads(json.dumps(rules.as_document()))) == rules
    assert parse_rules(default_source()) == rules


def test_json_works_as_well_as_yaml_and_durations_read_naturally() -> None:
    rules = parse_rules(
        json.dumps(
            {
                "sla": {
                    p: {"acknowledge": "30m", "resolve": "2d"} for p in ("p0", "p1", "p2", "p3")
                },
                "rules": [{"id": "perf", "kind": "moderator_performance", "last_n": 5}],
            }
        )
    )
    [rule] = rules.rules
    assert isinstance(rule, ModeratorPerformanceRule) and rule.last_n == 5
    assert rules.sla[CasePriority.P2].resolve == dt.timedelta(days=2)


def test_problems_name_the_rule_and_the_field() -> None:
    found = problems(
        """
rules:
  - {id: coaching, kind: moderator_performance, min_accuracy: 1.5, last_n: 0}
  - {id: gap, kind: policy_gap, max_unsure_sahre: 0.2}
  - {id: x, kind: telepathy}
"""
    )
    text = "\n".join(found)
    assert "rules[0] (id 'coaching').min_accuracy: Input should be less than or equal to 1" in text
    assert "rules[0] (id 'coaching').last_n: Input should be greater than or equal to 1" in text
    assert "rules[1] (id 'gap').max_unsure_sahre: Extra inputs are not permitted" in text
    assert "rules[2] (id 'x')" in text and "telepathy" in text


def test_whole_document_mistakes_are_explained() -> None:
    assert problems("rules: [")[0].startswith("not valid YAML or JSON")
    assert "mapping" in problems("- just a list")[0]
    assert "rules: Field required" in problems("sla: {}")
    assert any(
        "repeated: a" in p
        for p in problems("rules: [{id: a, kind: dispute}, {id: a, kind: critical_miss}]")
    )
    assert any(
        "at most one rule of kind sla_breach" in p
        for p in problems("rules: [{id: a, kind: sla_breach}, {id: b, kind: sla_breach}]")
    )
    assert any(
        "give acknowledge and resolve for p1, p2, p3" in p
        for p in problems(
            "sla: {p0: {acknowledge: 1m, resolve: 1h}}\nrules: [{id: a, kind: dispute}]"
        )
    )
    assert any(
        "acknowledge must not be later than resolve" in p
        for p in problems(
            "sla: {p0: {acknowledge: 2h, resolve: 1h}, p1: {acknowledge: 1h, resolve: 2h},"
            " p2: {acknowledge: 1h, resolve: 2h}, p3: {acknowledge: 1h, resolve: 2h}}\n"
            "rules: [{id: a, kind: dispute}]"
        )
    )
    assert any(
        "positive duration" in p
        for p in problems("rules: [{id: a, kind: policy_gap, window: 0s, max_unsure_share: 0.1}]")
    )
    assert any(
        "unknown placeholder {team}" in p
        for p in problems("rules: [{id: a, kind: dispute, owner: 'lead:{team}'}]")
    )
    assert any(
        "set at least one of" in p
        for p in problems("rules: [{id: a, kind: policy_gap, on_drift_signal: false}]")
    )


def test_disabled_rules_stay_in_the_set_but_do_not_fire() -> None:
    rules = parse_rules(
        "rules: [{id: a, kind: dispute, enabled: false}, {id: b, kind: critical_miss}]"
    )
    assert rules.dispute() is None and len(rules.critical_miss()) == 1
