"""Every malformed decision is refused with a reason, never with another exception: by the
shared pydantic parser and by the sampler's own decoder (msgspec first), which is what reads
`moderation.decisions` in production."""

from __future__ import annotations

import datetime as dt

import pytest
from aiokafka.structs import ConsumerRecord
from hypothesis import given, settings

from services.sampler.wire import decode_record
from shared.codec import MAX_EVENT_BYTES, parse
from shared.errors import DecodeError
from shared.events import Decision
from shared.kafka.dlq import H_OFFSET, H_TRUNCATED, MAX_DLQ_VALUE_BYTES, dead_letter
from tests.support.poison import VALID, dump, malformed


@settings(max_examples=300, deadline=None)
@given(malformed)
def test_a_malformed_decision_is_refused_with_a_reason(payload: bytes) -> None:
    with pytest.raises(DecodeError) as refused:
        parse(Decision, payload)
    assert refused.value.reason


def test_the_reference_payload_is_valid() -> None:
    assert parse(Decision, dump(VALID)).decision_id == VALID["decision_id"]


def a_record(value: bytes) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(
        topic="moderation.decisions",
        partition=0,
        offset=0,
        timestamp=0,
        timestamp_type=0,
        key=None,
        value=value,
        checksum=None,
        serialized_key_size=0,
        serialized_value_size=len(value),
        headers=(),
    )


@settings(max_examples=300, deadline=None)
@given(malformed)
def test_the_samplers_decoder_refuses_a_malformed_decision_with_a_reason(payload: bytes) -> None:
    with pytest.raises(DecodeError) as refused:
        decode_record(a_record(payload))
    assert refused.value.reason


def test_the_samplers_decoder_takes_the_reference_payload() -> None:
    assert decode_record(a_record(dump(VALID))).decision_id == VALID["decision_id"]


def test_a_dead_letter_keeps_a_value_within_the_event_limit_whole_and_cuts_a_larger_one() -> None:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    within = a_record(b"x" * MAX_EVENT_BYTES)
    kept = dead_letter(within, reason="invalid decision", service="sampler", now=now)
    assert kept.value == within.value
    assert dict(kept.headers).get(H_TRUNCATED) is None

    oversized = a_record(b"{" + b"y" * (MAX_EVENT_BYTES + 10))
    cut = dead_letter(oversized, reason="payload too large", service="sampler", now=now)
    assert cut.value == (oversized.value or b"")[:MAX_DLQ_VALUE_BYTES]
    assert len(cut.value) == MAX_DLQ_VALUE_BYTES < MAX_EVENT_BYTES
    assert dict(cut.headers)[H_TRUNCATED] == str(MAX_EVENT_BYTES + 11).encode()
    assert dict(cut.headers)[H_OFFSET] == str(oversized.offset).encode()
