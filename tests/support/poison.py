"""Malformed decisions of every kind a broken upstream sends, as hypothesis strategies."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from hypothesis import strategies as st

from shared import events
from tests.support.builders import a_decision

VALID: dict[str, Any] = json.loads(a_decision().model_dump_json())
ENUM_FIELDS = (
    "content_type",
    "moderator_kind",
    "action",
    "source",
    "automated_decision",
    "decision_ground",
)
KNOWN_VALUES = frozenset(
    member.value
    for enum in vars(events).values()
    if isinstance(enum, type) and issubclass(enum, StrEnum)
    for member in enum
)
"""Every value of every enum of the contract: an 'unknown' value must be none of them."""
REQUIRED = (
    "decision_id",
    "content_id",
    "content_type",
    "content_ref",
    "queue",
    "market",
    "language",
    "moderator_id",
    "moderator_kind",
    "moderator_team",
    "policy_id",
    "policy_version",
    "action",
    "source",
    "decided_at",
)


def dump(value: dict[str, Any]) -> bytes:
    return json.dumps(value).encode()


broken_json = st.one_of(
    st.sampled_from([b"", b"{", b"{]", b"nul", b'{"decision_id": ', b"\x00\x01", b"[1,2"]),
    st.binary(min_size=1, max_size=200).filter(lambda b: not b.strip().startswith((b"{", b"["))),
    st.builds(lambda d: dump(d)[:-1], st.just(VALID)),
)

missing_fields = st.lists(st.sampled_from(REQUIRED), min_size=1, unique=True).map(
    lambda drop: dump({k: v for k, v in VALID.items() if k not in drop})
)

WRONG_VALUES: dict[str, list[Any]] = {
    "policy_version": [[1], {"v": 1}, "abc", -5, 1.5, None],
    "confidence": ["high", [1], 2.5, -1],
    "decided_at": [1700000000, 1.5, "yesterday", [], "2026-13-45T00:00:00Z"],
    "market": [12, "Korea", ["KR"], "kr"],
    "territorial_scope": ["KR", [1, 2], {"KR": True}],
    "automated_detection": ["maybe", [True], {"x": 1}],
    "decision_id": [123, [], {}, "", "has spaces", None],
    "queue": [7, "Has Capitals", ""],
}

wrong_types = st.sampled_from(
    [(field, value) for field, values in WRONG_VALUES.items() for value in values]
).map(lambda kv: dump({**VALID, kv[0]: kv[1]}))

unknown_enums = st.tuples(
    st.sampled_from(ENUM_FIELDS),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=20).filter(
        lambda s: s not in KNOWN_VALUES
    ),
).map(lambda kv: dump({**VALID, kv[0]: kv[1]}))

huge_payloads = st.integers(min_value=300_000, max_value=900_000).map(
    lambda size: dump({**VALID, "content_ref": "x" * size})
)

wrong_encodings = st.one_of(
    st.just(json.dumps({**VALID, "queue": "vidéo"}, ensure_ascii=False).encode("latin-1")),
    st.just(dump(VALID).decode().encode("utf-16")),
    st.binary(min_size=1, max_size=50).map(lambda b: b"\xff\xfe" + b),
)

malformed = st.one_of(
    broken_json, missing_fields, wrong_types, unknown_enums, huge_payloads, wrong_encodings
)
"""Any malformed decision payload."""
