"""Every malformed decision is refused with a reason, never with another exception: by the
shared pydantic parser and by the sampler's own decoder (msgspec first), which is what reads
`moderation.decisions` in production."""

from __future__ import annotations

import pytest
from aiokafka.structs import ConsumerRecord
from hypothesis import given, settings

from services.sampler.wire import decode_record
from shared.codec import parse
from shared.errors import DecodeError
from shared.events import Decision
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
