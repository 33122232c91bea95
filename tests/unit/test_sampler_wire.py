"""The fast decision decoder accepts exactly what the pydantic model accepts, with the same
values, and refuses the rest with the model's reason; tasks it encodes are valid events."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, get_args

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from services.sampler.domain.core import StateChange, TaskDraft
from services.sampler.wire import (
    ActionValue,
    AutomatedDecisionValue,
    ContentTypeValue,
    DecisionGroundValue,
    DecisionRecord,
    ModeratorKindValue,
    SourceValue,
    decode_batch,
    decode_change,
    decode_decision,
    decode_record,
    encode_change,
    encode_task,
    fast_decode,
)
from shared.codec import describe
from shared.errors import DecodeError
from shared.events import (
    Action,
    AutomatedDecision,
    ContentType,
    Decision,
    DecisionGround,
    ModeratorKind,
    Source,
    Task,
    TaskReason,
    encode,
)
from tests.support import poison
from tests.support.builders import NOW, a_decision

VALID: dict[str, Any] = json.loads(
    encode(
        a_decision(
            confidence=0.5,
            moderator_started_at=dt.date(2026, 1, 5),
            automated_detection=True,
            automated_decision="partially",
            decision_ground="terms",
            category="STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
            territorial_scope=["KR", "JP"],
        )
    )
)


def pydantic_outcome(raw: bytes) -> Decision | str:
    try:
        return Decision.model_validate_json(raw)
    except ValidationError as error:
        return describe(error)


def check_equivalent(raw: bytes) -> None:
    expected = pydantic_outcome(raw)
    fast = fast_decode(raw)
    if fast is not None:
        assert isinstance(expected, Decision), f"fast path accepted what pydantic refuses: {raw!r}"
    if isinstance(expected, str):
        with pytest.raises(DecodeError) as refused:
            decode_decision(raw)
        assert describe_matches(refused.value.reason, expected)
        return
    decoded = decode_decision(raw)
    assert isinstance(expected, Decision), f"accepted what pydantic refuses: {raw!r}: {expected}"
    again = Decision.model_validate_json(msgspec.json.encode(decoded))
    assert again == expected, raw
    assert decoded.decided_at.tzinfo is dt.UTC


def describe_matches(reason: str, expected: str) -> bool:
    return expected in reason or reason.startswith("not valid JSON")


def with_fields(**changes: Any) -> bytes:
    document = {**VALID, **changes}
    return json.dumps({k: v for k, v in document.items() if v is not DROP}).encode()


DROP = object()


def test_the_literal_values_follow_the_event_enums() -> None:
    pairs = [
        (ContentTypeValue, ContentType),
        (ModeratorKindValue, ModeratorKind),
        (ActionValue, Action),
        (SourceValue, Source),
        (AutomatedDecisionValue, AutomatedDecision),
        (DecisionGroundValue, DecisionGround),
    ]
    for literal, enum in pairs:
        assert set(get_args(literal)) == {member.value for member in enum}


def test_the_struct_has_the_event_fields() -> None:
    fields = set(DecisionRecord.__struct_fields__) - {"schema_"}
    assert fields == {f.alias or name for name, f in Decision.model_fields.items()}


@pytest.mark.parametrize(
    "raw",
    [
        with_fields(),
        with_fields(decided_at="2026-11-20T19:00:00+09:00"),
        with_fields(decided_at="2026-11-20t10:00:00z"),
        with_fields(decided_at="2026-11-20 10:00:00Z"),
        with_fields(decided_at="2026-11-20T10:00Z"),
        with_fields(decided_at="2026-11-20T10:00:00.1234567Z"),
        with_fields(decided_at="2026-11-20T10:00:00.9999995Z"),
        with_fields(decided_at="2026-11-20T10:00:00,5Z"),
        with_fields(decided_at="2026-11-20T10:00:00"),
        with_fields(decided_at=1763632800),
        with_fields(decided_at="2026-02-30T10:00:00Z"),
        with_fields(decision_id="dec-1\n"),
        with_fields(decision_id="dec 1"),
        with_fields(decision_id=""),
        with_fields(decision_id="x" * 129),
        with_fields(decision_id="é"),
        with_fields(content_id="c\x00"),
        with_fields(market="kr"),
        with_fields(market="KR\n"),
        with_fields(language="kor"),
        with_fields(language="k"),
        with_fields(queue="Video"),
        with_fields(queue="-video"),
        with_fields(queue="v" * 65),
        with_fields(moderator_team="team a"),
        with_fields(policy_version=0),
        with_fields(policy_version=1.0),
        with_fields(policy_version="2"),
        with_fields(policy_version=True),
        with_fields(policy_version=2**70),
        with_fields(confidence=1.01),
        with_fields(confidence=1),
        with_fields(confidence="0.5"),
        with_fields(confidence=None),
        with_fields(content_ref=""),
        with_fields(content_ref="x" * 2049),
        with_fields(content_ref="é" * 2048),
        with_fields(content_type="VIDEO"),
        with_fields(action="obliterate"),
        with_fields(moderator_started_at="2026-01-05T00:00:00Z"),
        with_fields(moderator_started_at="2026-13-05"),
        with_fields(automated_detection="true"),
        with_fields(automated_detection=1),
        with_fields(category="STATEMENT_CATEGORY_"),
        with_fields(category="STATEMENT_CATEGORY_" + "A" * 78),
        with_fields(category="statement_category_x"),
        with_fields(territorial_scope=[]),
        with_fields(territorial_scope=["KR", "kr"]),
        with_fields(territorial_scope=["KR"] * 65),
        with_fields(territorial_scope="KR"),
        with_fields(schema="modqa.decision.v2"),
        with_fields(schema=DROP),
        with_fields(schema_="modqa.decision.v2"),
        with_fields(moderator_id=DROP),
        with_fields(extra_field={"nested": [1, 2]}),
        b'{"decision_id": "a", "decision_id": "b"}',
        with_fields()[:-1] + b', "queue": "Bad"}',
        with_fields()[:-1] + b', "queue": "other"}',
        b"\xef\xbb\xbf" + with_fields(),
        with_fields() + b" ",
        with_fields() + b"x",
        b"[]",
        b"null",
        b"{not json",
        with_fields(content_ref="\ud800"),
        with_fields().replace(b'"decision_id"', b'"decision\\u005fid"'),
        with_fields().replace(b'"decided_at"', b'"decided\\u005fat"'),
    ],
)
def test_tricky_input_is_judged_as_pydantic_judges_it(raw: bytes) -> None:
    check_equivalent(raw)


VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.text(alphabet="AZaz09._:@/+=-\n \x00é#", max_size=140),
    st.lists(st.text(alphabet="AKRJPkr", max_size=3), max_size=3),
    st.sampled_from(["KR", "ko", "video", "human", "remove", "report", "2026-01-05"]),
    st.builds(
        lambda d, sep, frac, tz: f"{d.isoformat()}{sep}10:11:12{frac}{tz}",
        st.dates(min_value=dt.date(1, 1, 1)),
        st.sampled_from(["T", "t", " ", "_"]),
        st.sampled_from(["", ".", ".1", ".123456", ".1234567", ".123456789"]),
        st.sampled_from(["Z", "z", "+09:00", "-0130", "+24:00", "", "+00:00"]),
    ),
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    changes=st.dictionaries(st.sampled_from([*VALID, "schema_", "other"]), VALUES, max_size=3),
    drops=st.sets(st.sampled_from(list(VALID)), max_size=2),
)
def test_generated_decisions_are_judged_as_pydantic_judges_them(
    changes: dict[str, Any], drops: set[str]
) -> None:
    document = {**VALID, **changes}
    for name in drops:
        document.pop(name, None)
    check_equivalent(json.dumps(document).encode())


def test_a_null_or_oversized_message_is_refused_with_its_reason() -> None:
    with pytest.raises(DecodeError, match="null"):
        decode_decision(None)
    with pytest.raises(DecodeError, match="too large"):
        decode_decision(b" " * (256 * 1024 + 1))


def test_an_encoded_task_is_a_valid_task_event() -> None:
    decision = decode_decision(with_fields(decided_at="2026-11-20T19:00:00+09:00"))
    draft = TaskDraft(
        task_id="t-1",
        decision=decision,
        partition=0,
        index=0,
        plan_id="plan-a",
        plan_version=3,
        stratum="queue=video|market=KR",
        probability=None,
        reasons=(TaskReason.QUOTA, TaskReason.CALIBRATION),
        required_reviews=3,
        priority=40,
        pool="ko",
        blind=True,
        due_at=NOW + dt.timedelta(hours=24),
        created_at=NOW,
    )
    task = Task.model_validate_json(encode_task(draft))
    assert task.decision == Decision.model_validate(VALID | {"decided_at": "2026-11-20T10:00:00Z"})
    assert (task.inclusion_probability, task.required_reviews, task.blind) == (None, 3, True)
    assert task.reasons == [TaskReason.QUOTA, TaskReason.CALIBRATION]
    assert b'"decided_at":"2026-11-20T10:00:00Z"' in encode_task(draft)


@pytest.mark.parametrize(
    "change",
    [
        StateChange(0, "m/mod-1", (739940, 2)),
        StateChange(0, "t/d-1", 739940),
        StateChange(0, "#watermark", 739941),
        StateChange(0, "t/d-1", None),
    ],
)
def test_changelog_values_round_trip(change: StateChange) -> None:
    assert decode_change(encode_change(change)) == change.value


@pytest.mark.parametrize(
    "raw",
    [
        with_fields(),
        with_fields(decided_at="2026-11-20T19:00:00.250+09:00"),
        json.dumps(
            {k: v for k, v in VALID.items() if v is not None and k != "confidence"}
        ).encode(),
        encode(a_decision()),
    ],
)
def test_ordinary_decisions_take_the_fast_path(raw: bytes) -> None:
    assert fast_decode(raw) is not None


@dataclass
class RawRecord:
    value: bytes | None


def judged_one_by_one(records: list[RawRecord]) -> list[tuple[int, DecisionRecord | str]]:
    outcomes: list[tuple[int, DecisionRecord | str]] = []
    for index, record in enumerate(records):
        try:
            outcomes.append((index, decode_record(record)))  # type: ignore[arg-type]
        except DecodeError as error:
            outcomes.append((index, error.reason))
    return outcomes


def judged_as_a_batch(records: list[RawRecord]) -> list[tuple[int, DecisionRecord | str]]:
    decoded = decode_batch(records)  # type: ignore[arg-type]
    position = {id(record): index for index, record in enumerate(records)}
    outcomes: list[tuple[int, DecisionRecord | str]] = [
        (position[id(record)], event)
        for record, event in zip(decoded.records, decoded.events, strict=True)
    ]
    outcomes += [(position[id(record)], reason) for record, reason in decoded.refused]
    return sorted(outcomes, key=lambda outcome: outcome[0])


ORDINARY = st.builds(
    lambda n, moderator, market, zone, fraction: with_fields(
        decision_id=f"d-{n}",
        moderator_id=f"mod-{moderator}",
        market=market,
        decided_at=f"2026-11-20T10:11:12{fraction}{zone}",
    ),
    st.integers(0, 10**6),
    st.integers(0, 50),
    st.sampled_from(["KR", "US", "DE"]),
    st.sampled_from(["Z", "+09:00", "-01:30"]),
    st.sampled_from(["", ".5", ".123456"]),
)
"""Decisions the fast path takes."""
UNUSUAL = st.one_of(
    st.builds(
        lambda changes: with_fields(**changes),
        st.dictionaries(st.sampled_from([*VALID, "schema_", "other"]), VALUES, max_size=2),
    ),
    st.sampled_from(
        [
            None,
            with_fields(decided_at="2026-11-20T10:11:12.1234567Z"),
            with_fields().replace(b'"decided_at"', b'"decided\\u005fat"'),
            with_fields(content_ref='"decided_at": "2026-11-20T10:11:12.1234567Z"'),
            with_fields(decision_id="has spaces"),
            with_fields(queue="Video"),
            with_fields(category="statement_category_x"),
            with_fields(territorial_scope=["KR", "kr"]),
        ]
    ),
    poison.malformed,
)
"""Poison, and decisions only pydantic can judge (or refuse)."""


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(ORDINARY, ORDINARY, ORDINARY, UNUSUAL).map(RawRecord), min_size=1, max_size=40
    )
)
def test_a_batch_is_decoded_as_its_records_are_one_by_one(records: list[RawRecord]) -> None:
    """The batch decoder's outcomes are decode_record's: the same decisions in consumed order,
    the same records refused with the same reasons."""
    assert judged_as_a_batch(records) == judged_one_by_one(records)


def test_a_poisoned_batch_keeps_the_fast_path_for_its_valid_records() -> None:
    records = [RawRecord(with_fields(decision_id=f"d-{i}")) for i in range(20)]
    records[7] = RawRecord(b"{not json")
    decoded = decode_batch(records)  # type: ignore[arg-type]
    assert [record for record, _ in decoded.refused] == [records[7]]
    assert [d.decision_id for d in decoded.events] == [f"d-{i}" for i in range(20) if i != 7]


def test_a_decision_in_a_wrong_encoding_is_refused_with_a_reason() -> None:
    raw = json.dumps({**VALID, "queue": "vidéo"}, ensure_ascii=False).encode("latin-1")
    with pytest.raises(DecodeError) as refused:
        decode_record(RawRecord(raw))  # type: ignore[arg-type]
    assert refused.value.reason
