"""The sampler's hot-path codec: decisions decoded into plain msgspec structs, tasks and
changelog records encoded from them, with pydantic kept off the per-message path.

Validation stays equivalent to `shared.events.Decision`: the fast path accepts only what it
can check completely (types, enums and ranges in msgspec's C decoder; identifier, label and
code patterns with one regex or a cache of values already checked); anything it does not
accept is handed to the pydantic model, which either accepts it (the struct is then built
from the model's canonical JSON) or refuses it with the reason the dead letter carries.
`tests/unit/test_sampler_wire.py` checks the equivalence, including with generated input.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from itertools import chain
from operator import attrgetter
from typing import Annotated, Any, Literal

import msgspec
from aiokafka.structs import ConsumerRecord

from services.sampler.domain.core import ChangeValue, StateChange, TaskDraft
from shared.codec import MAX_EVENT_BYTES, parse
from shared.errors import DecodeError
from shared.events import Decision, encode
from shared.kafka.consumer import Decoded

ContentTypeValue = Literal[
    "text", "image", "video", "audio", "live_stream", "synthetic_media", "product", "app", "other"
]
ModeratorKindValue = Literal["human", "machine"]
ActionValue = Literal[
    "approve", "label", "demote", "age_restrict", "remove", "suspend_account", "terminate_account"
]
SourceValue = Literal["report", "proactive", "appeal"]
AutomatedDecisionValue = Literal["fully", "partially", "not_automated"]
DecisionGroundValue = Literal["illegal", "terms"]


class DecisionRecord(msgspec.Struct, kw_only=True, gc=False):
    """A decision as the sampler handles it; same fields and JSON as `shared.events.Decision`."""

    schema: Literal["modqa.decision.v1"] = "modqa.decision.v1"
    decision_id: str
    content_id: str
    content_type: ContentTypeValue
    content_ref: Annotated[str, msgspec.Meta(min_length=1, max_length=2048)]
    queue: str
    market: str
    language: str
    moderator_id: str
    moderator_kind: ModeratorKindValue
    moderator_team: str
    policy_id: str
    policy_version: Annotated[int, msgspec.Meta(ge=1)]
    action: ActionValue
    confidence: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)] | None = None
    source: SourceValue
    decided_at: Annotated[dt.datetime, msgspec.Meta(tz=True)]
    moderator_started_at: dt.date | None = None
    automated_detection: bool | None = None
    automated_decision: AutomatedDecisionValue | None = None
    decision_ground: DecisionGroundValue | None = None
    category: str | None = None
    territorial_scope: list[str] | None = None
    schema_: msgspec.UnsetType = msgspec.UNSET
    """pydantic also reads the `schema` tag under its field name; the fast path refuses it."""


_ID = r"[A-Za-z0-9._:@/+=-]{1,128}"
_LABEL_RE = r"[a-z0-9][a-z0-9_.-]{0,63}"
_IDS = re.compile(f"{_ID}\x00{_ID}")
_KEY = re.compile("\x00".join([_LABEL_RE, "[A-Z]{2}", "[a-z]{2,3}", _LABEL_RE, _LABEL_RE]))
_MODERATOR = re.compile(_ID)
_MARKET = re.compile(r"[A-Z]{2}")
_CATEGORY = re.compile(r"STATEMENT_CATEGORY_[A-Z_]+")
_MAX_CACHE = 100_000
_UTC = dt.UTC

_decoder = msgspec.json.Decoder(DecisionRecord)
_REFUSED = (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError)
"""What msgspec raises for input it refuses (invalid UTF-8 inside a string is the last one):
pydantic then judges the record and gives the reason."""
_encoder = msgspec.json.Encoder()
_checked_keys: set[tuple[str, str, str, str, str]] = set()
_checked_moderators: set[str] = set()
_checked_categories: set[str] = set()
_checked_markets: set[str] = set()


_ID_CHARS = re.compile("[A-Za-z0-9._:@/+=\x00-]*")
"""Identifier characters, and the separator of a batch's identifiers joined into one string."""
_LONG_FRACTION = re.compile(rb'"decided_at"\s*:\s*"[^".]*\.[0-9]{7}')
_DECIDED_AT_KEY = b'"decided_at"'
_ids_of = attrgetter("decision_id", "content_id")
_labels_of = attrgetter("queue", "market", "language", "moderator_team", "policy_id")
_moderator_of = attrgetter("moderator_id")
_category_of = attrgetter("category")
_scope_of = attrgetter("territorial_scope")
_zone_of = attrgetter("decided_at.tzinfo")


def _long_fraction(raw: bytes) -> bool:
    """True unless `decided_at` is found with at most 6 fractional digits: msgspec rounds
    sub-microsecond digits where pydantic truncates, so such input takes the pydantic path."""
    at = raw.find(b'"decided_at"')
    if at < 0:
        return True
    start = raw.find(b'"', at + 12) + 1
    end = raw.find(b'"', start)
    if end - start <= 27:  # 7 fractional digits and a zone take at least 28 characters
        return False
    value = raw[start:end]
    dot = value.find(b".")
    if dot < 0:
        return False
    digits = 0
    for byte in value[dot + 1 :]:
        if 48 <= byte <= 57:
            digits += 1
        else:
            break
    return digits > 6


def _checked(decision: DecisionRecord) -> bool:
    """The pattern checks msgspec's decoder does not do (cached for repeating values)."""
    if _IDS.fullmatch(f"{decision.decision_id}\x00{decision.content_id}") is None:
        return False
    key = (
        decision.queue,
        decision.market,
        decision.language,
        decision.moderator_team,
        decision.policy_id,
    )
    if key not in _checked_keys:
        if _KEY.fullmatch("\x00".join(key)) is None:
            return False
        if len(_checked_keys) >= _MAX_CACHE:
            _checked_keys.clear()
        _checked_keys.add(key)
    moderator = decision.moderator_id
    if moderator not in _checked_moderators:
        if _MODERATOR.fullmatch(moderator) is None:
            return False
        if len(_checked_moderators) >= _MAX_CACHE:
            _checked_moderators.clear()
        _checked_moderators.add(moderator)
    category = decision.category
    if category is not None and category not in _checked_categories:
        if len(category) > 96 or _CATEGORY.fullmatch(category) is None:
            return False
        _checked_categories.add(category)
    scope = decision.territorial_scope
    if scope is not None:
        if len(scope) > 64:
            return False
        for market in scope:
            if market not in _checked_markets:
                if _MARKET.fullmatch(market) is None:
                    return False
                _checked_markets.add(market)
    return True


def fast_decode(raw: bytes) -> DecisionRecord | None:
    """The decision if the fast path can vouch for it, else None (pydantic decides). msgspec
    raises UnicodeDecodeError, not its DecodeError, for a string that is not UTF-8."""
    try:
        decision = _decoder.decode(raw)
    except _REFUSED:
        return None
    if not _checked(decision) or _long_fraction(raw):
        return None
    decided = decision.decided_at
    if decided.tzinfo is not _UTC:
        decision.decided_at = decided.astimezone(_UTC)
    return decision


def _remember(cache: set[Any], values: set[Any]) -> None:
    if len(cache) + len(values) > _MAX_CACHE:
        cache.clear()
    cache |= values


def _all_checked(decisions: list[DecisionRecord], raws: list[bytes]) -> bool:
    """`_checked` and `not _long_fraction` for a whole batch at once: True only if every
    decision passes both (False: some may not, judge them one by one)."""
    ids = list(chain.from_iterable(map(_ids_of, decisions)))
    joined = "\x00".join(ids)
    if (
        _ID_CHARS.fullmatch(joined) is None
        or joined.count("\x00") != len(ids) - 1
        or min(map(len, ids)) < 1
        or max(map(len, ids)) > 128
    ):
        return False
    labels = set(map(_labels_of, decisions)) - _checked_keys
    if any(_KEY.fullmatch("\x00".join(key)) is None for key in labels):
        return False
    moderators = set(map(_moderator_of, decisions)) - _checked_moderators
    if any(_MODERATOR.fullmatch(moderator) is None for moderator in moderators):
        return False
    categories = set(map(_category_of, decisions)) - _checked_categories
    categories.discard(None)
    if any(len(c) > 96 or _CATEGORY.fullmatch(c) is None for c in categories):
        return False
    scopes = [scope for scope in map(_scope_of, decisions) if scope]
    if scopes:
        if max(map(len, scopes)) > 64:
            return False
        markets = set(chain.from_iterable(scopes)) - _checked_markets
        if any(_MARKET.fullmatch(market) is None for market in markets):
            return False
        _remember(_checked_markets, markets)
    # Without any \u escape every decision spells its `decided_at` key plainly, so one key per
    # value over the whole batch means each value's only occurrence is its own key.
    text = b"\n".join(raws)
    if (
        b"\\u" in text
        or text.count(_DECIDED_AT_KEY) != len(raws)
        or _LONG_FRACTION.search(text) is not None
    ):
        return False
    _remember(_checked_keys, labels)
    _remember(_checked_moderators, moderators)
    _remember(_checked_categories, categories)
    return True


def decode_batch(records: list[ConsumerRecord[bytes, bytes]]) -> Decoded[DecisionRecord]:
    """A batch decoder for `moderation.decisions`: one msgspec pass and the pattern checks over
    the whole batch, with the outcomes `decode_record` gives one record at a time (same
    decisions in the same order, same reasons for the refused). A record msgspec refuses is
    judged on its own (pydantic gives the reason) without slowing the others; if the batch
    checks find something they cannot vouch for, every record is judged on its own.

    Not what the service runs: on the benchmark's decisions it measured slower than
    `decode_record` (about 9 against 6 us a decision of CPU; the per-batch sets, joins and
    scans cost more than the per-record checks with their caches)."""
    raws = [record.value for record in records]
    try:
        if max(map(len, raws), default=0) > MAX_EVENT_BYTES:
            raise TypeError("an oversized record")
        decisions = list(map(_decoder.decode, raws))
    except (*_REFUSED, TypeError):
        return _sifted(records)
    if not decisions:
        return Decoded([], [], [])
    if not _all_checked(decisions, raws):
        return _one_by_one(records)
    _to_utc(decisions)
    return Decoded(records, decisions, [])


def _to_utc(decisions: list[DecisionRecord]) -> None:
    if set(map(_zone_of, decisions)) != {_UTC}:
        for decision in decisions:
            if decision.decided_at.tzinfo is not _UTC:
                decision.decided_at = decision.decided_at.astimezone(_UTC)


def _sifted(records: list[ConsumerRecord[bytes, bytes]]) -> Decoded[DecisionRecord]:
    """A batch with records msgspec refuses (poison): those are judged one by one, the others
    still get the batch checks; the outcomes stay in consumed order."""
    outcomes: list[DecisionRecord | str | None] = [None] * len(records)
    plain: list[int] = []
    decisions: list[DecisionRecord] = []
    raws: list[bytes] = []
    for index, record in enumerate(records):
        raw = record.value
        if raw is not None and len(raw) <= MAX_EVENT_BYTES:
            try:
                decision = _decoder.decode(raw)
            except _REFUSED:
                pass
            else:
                plain.append(index)
                decisions.append(decision)
                raws.append(raw)
                continue
        outcomes[index] = _judged(record)
    if decisions and _all_checked(decisions, raws):
        _to_utc(decisions)
        for index, decision in zip(plain, decisions, strict=True):
            outcomes[index] = decision
    else:
        for index in plain:
            outcomes[index] = _judged(records[index])
    decoded: Decoded[DecisionRecord] = Decoded([], [], [])
    for record, outcome in zip(records, outcomes, strict=True):
        if isinstance(outcome, str):
            decoded.refused.append((record, outcome))
        elif outcome is not None:
            decoded.records.append(record)
            decoded.events.append(outcome)
    return decoded


def _judged(record: ConsumerRecord[bytes, bytes]) -> DecisionRecord | str:
    """`decode_record`'s outcome: the decision, or the reason it is refused."""
    try:
        return decode_record(record)
    except DecodeError as error:
        return error.reason


def _one_by_one(records: list[ConsumerRecord[bytes, bytes]]) -> Decoded[DecisionRecord]:
    decoded: Decoded[DecisionRecord] = Decoded([], [], [])
    for record in records:
        outcome = _judged(record)
        if isinstance(outcome, str):
            decoded.refused.append((record, outcome))
            continue
        decoded.records.append(record)
        decoded.events.append(outcome)
    return decoded


def from_event(decision: Decision) -> DecisionRecord:
    """The struct of a validated event (its canonical JSON always passes the fast path)."""
    return _decoder.decode(encode(decision))


def decode_decision(raw: bytes | None) -> DecisionRecord:
    """Validate a decision as `shared.events.Decision` would; DecodeError says why not."""
    if raw is None:
        raise DecodeError("empty message (null value)")
    if len(raw) > MAX_EVENT_BYTES:
        raise DecodeError(f"payload too large: {len(raw)} bytes (limit {MAX_EVENT_BYTES})")
    decision = fast_decode(raw)
    if decision is not None:
        return decision
    return from_event(parse(Decision, raw))


def decode_record(record: ConsumerRecord[bytes, bytes]) -> DecisionRecord:
    """The consumer runtime's decoder for `moderation.decisions` (`decode_decision` with the
    fast path first, inlined: this runs for every record)."""
    raw = record.value
    if raw is not None and len(raw) <= MAX_EVENT_BYTES:
        try:
            decision = _decoder.decode(raw)
        except _REFUSED:
            return decode_decision(raw)
        if _checked(decision) and not _long_fraction(raw):
            decided = decision.decided_at
            if decided.tzinfo is not _UTC:
                decision.decided_at = decided.astimezone(_UTC)
            return decision
    return decode_decision(raw)


class TaskRecord(msgspec.Struct, kw_only=True, gc=False):
    """`shared.events.Task` as the sampler writes it."""

    schema: str = "modqa.task.v1"
    task_id: str
    decision: DecisionRecord
    plan_id: str
    plan_version: int
    stratum: str
    inclusion_probability: float | None
    reasons: list[str]
    required_reviews: int
    priority: int
    pool: str
    blind: bool
    due_at: dt.datetime
    created_at: dt.datetime


def encode_task(draft: TaskDraft) -> bytes:
    """The wire form of a task (valid `modqa.task.v1`)."""
    decision = draft.decision
    if not isinstance(decision, DecisionRecord):
        raise TypeError("tasks are encoded from decisions decoded by this module")
    return _encoder.encode(
        TaskRecord(
            task_id=draft.task_id,
            decision=decision,
            plan_id=draft.plan_id,
            plan_version=draft.plan_version,
            stratum=draft.stratum,
            inclusion_probability=draft.probability,
            reasons=[reason.value for reason in draft.reasons],
            required_reviews=draft.required_reviews,
            priority=draft.priority,
            pool=draft.pool,
            blind=draft.blind,
            due_at=draft.due_at,
            created_at=draft.created_at,
        )
    )


def encode_change(change: StateChange) -> bytes | None:
    """A changelog value: `{"d": day, "n": tasks}` for a moderator, `{"d": day}` for a task
    id or the watermark, None (a tombstone) for a removed key."""
    value = change.value
    if value is None:
        return None
    if isinstance(value, tuple):
        return _encoder.encode({"d": value[0], "n": value[1]})
    return _encoder.encode({"d": value})


def decode_change(raw: bytes | None) -> ChangeValue:
    """The inverse of `encode_change`."""
    if raw is None:
        return None
    data: Mapping[str, Any] = msgspec.json.decode(raw)
    if "n" in data:
        return (int(data["d"]), int(data["n"]))
    return int(data["d"])
