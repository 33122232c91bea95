"""Every malformed decision is refused with a reason, never with another exception."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

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
