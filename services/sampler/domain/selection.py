"""Which decisions to audit and with what probability, pure and deterministic.

A decision's inclusion probability under a plan revision is

    p = max(min(1, max(base, risk) * pool_scale), floor), raised to the targeted rate if one applies

where `base` is the allocated (Neyman) rate of its stratum, else the first matching stratum
rate, else the plan's base rate; `risk` is the highest rate of the risk rules it meets; and
`pool_scale` is what the pool's daily budget currently requires. The decision is selected
when `draw(decision_id, salt) < p`, so a replay selects exactly the same decisions.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import NamedTuple, Protocol

from services.sampler.domain.plan import Dimension, PlanDocument, Revision
from shared.events import Severity, TaskReason
from shared.taxonomy import Taxonomy

_SCALE = float(1 << 64)
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()

PRIORITY = {
    TaskReason.QUOTA: 40,
    TaskReason.UNIFORM: 50,
    TaskReason.RISK: 70,
    TaskReason.TARGETED: 80,
}
CRITICAL_BONUS = 10
MAX_STRATUM = 256


class DecisionLike(Protocol):
    """The decision fields sampling reads (a wire struct, an event model or a traffic sample)."""

    @property
    def decision_id(self) -> str: ...
    @property
    def queue(self) -> str: ...
    @property
    def market(self) -> str: ...
    @property
    def language(self) -> str: ...
    @property
    def policy_id(self) -> str: ...
    @property
    def policy_version(self) -> int: ...
    @property
    def content_type(self) -> str: ...
    @property
    def moderator_id(self) -> str: ...
    @property
    def moderator_kind(self) -> str: ...
    @property
    def moderator_team(self) -> str: ...
    @property
    def confidence(self) -> float | None: ...
    @property
    def moderator_started_at(self) -> dt.date | None: ...
    @property
    def decided_at(self) -> dt.datetime: ...


def draw(decision_id: str, salt: str) -> float:
    """A uniform number in [0, 1) fixed by the decision id and the plan salt."""
    digest = hashlib.blake2b(f"{salt}\x1f{decision_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE


_INVERSE = 2.0**-64
_blake2b = hashlib.blake2b


def draw_bytes(salted_id: bytes) -> float:
    """`draw` of an already salted id (`salt + "\x1f" + decision_id`, encoded)."""
    return int.from_bytes(_blake2b(salted_id, digest_size=8).digest(), "big") * _INVERSE


def is_selected(decision_id: str, salt: str, probability: float) -> bool:
    """True when the decision's draw falls under the probability."""
    return draw(decision_id, salt) < probability


def epoch_seconds(moment: dt.datetime) -> float:
    """Seconds since 1970-01-01 UTC of an aware timestamp."""
    return moment.timestamp()


def stratum_of(decision: DecisionLike, dimensions: Sequence[Dimension]) -> str:
    """The readable stratum label, e.g. `queue=video|market=KR` (`all` without dimensions)."""
    if not dimensions:
        return "all"
    label = "|".join(f"{d.value}={getattr(decision, d.value)}" for d in dimensions)
    if len(label) > MAX_STRATUM:  # tasks carry at most 256 characters: keep it unique
        digest = hashlib.blake2b(label.encode(), digest_size=6).hexdigest()
        label = f"{label[: MAX_STRATUM - 13]}#{digest}"
    return label


@dataclass(frozen=True)
class PolicyFacts:
    """What the taxonomy says that risk rules use: severities and version start days."""

    severity: Mapping[str, Severity]
    version_from: Mapping[tuple[str, int], int]
    """(policy_id, version) to the date ordinal the version took effect."""

    @classmethod
    def from_taxonomy(cls, taxonomy: Taxonomy) -> PolicyFacts:
        return cls(
            severity={p.id: p.severity for p in taxonomy.policies},
            version_from={
                (p.id, v.version): v.effective_from.toordinal()
                for p in taxonomy.policies
                for v in p.versions
            },
        )

    @classmethod
    def empty(cls) -> PolicyFacts:
        return cls(severity={}, version_from={})


@dataclass(frozen=True)
class TargetingEntry:
    """One received state of a targeting rule and from when it applies (epoch seconds)."""

    rule_id: str
    effective_from: float
    updated_at: float
    moderator_id: str | None
    market: str | None
    policy_id: str | None
    rate: float
    active: bool
    expires_at: float


Interval = tuple[float, float, float]
"""(start, end, rate): a targeted rate in force for instants in [start, end)."""


class TargetingIndex:
    """Targeted rates per moderator and per market+policy, as they stood at any instant."""

    def __init__(self, entries: Iterable[TargetingEntry] = ()) -> None:
        by_rule: dict[str, list[TargetingEntry]] = {}
        for entry in entries:
            by_rule.setdefault(entry.rule_id, []).append(entry)
        self.by_moderator: dict[str, list[Interval]] = {}
        self.by_market_policy: dict[tuple[str, str], list[Interval]] = {}
        for history in by_rule.values():
            history.sort(key=lambda e: (e.effective_from, e.updated_at))
            kept: list[TargetingEntry] = []
            for entry in history:  # a state older than one already in force is stale news
                if not kept or entry.updated_at >= kept[-1].updated_at:
                    kept.append(entry)
            for i, entry in enumerate(kept):
                following = kept[i + 1].effective_from if i + 1 < len(kept) else float("inf")
                end = min(following, entry.expires_at)
                if not entry.active or end <= entry.effective_from:
                    continue
                interval = (entry.effective_from, end, entry.rate)
                if entry.moderator_id is not None:
                    self.by_moderator.setdefault(entry.moderator_id, []).append(interval)
                elif entry.market is not None and entry.policy_id is not None:
                    key = (entry.market, entry.policy_id)
                    self.by_market_policy.setdefault(key, []).append(interval)

    def rate(self, decision: DecisionLike, instant: float) -> float:
        """The highest targeted rate in force for the decision at the instant (0 if none)."""
        best = 0.0
        if self.by_moderator:
            for start, end, rate in self.by_moderator.get(decision.moderator_id, ()):
                if start <= instant < end and rate > best:
                    best = rate
        if self.by_market_policy:
            key = (decision.market, decision.policy_id)
            for start, end, rate in self.by_market_policy.get(key, ()):
                if start <= instant < end and rate > best:
                    best = rate
        return best


@dataclass(frozen=True, slots=True, eq=False)
class Cell:
    """What a plan revision decides for every decision with the same stratifying fields.

    Cells are cached per selector and compared by identity (cheap as dict keys)."""

    stratum: str
    pool: str
    base: float
    severity_rate: float
    critical: bool
    scale: float
    quota: bool
    ceiling: float
    """No decision of the cell gets a design probability above this (risk rules included,
    targeted rates not): a draw at or above it is not selected by design."""


class Assessment(NamedTuple):
    """A decision's inclusion probability, the reason that set it, and its cell."""

    probability: float
    reason: TaskReason
    cell: Cell


_CELL_FIELDS = (
    "queue",
    "market",
    "language",
    "policy_id",
    "content_type",
    "moderator_kind",
    "moderator_team",
)


class Selector:
    """The probabilities one plan revision gives; cells are computed once and cached."""

    def __init__(
        self,
        revision: Revision,
        *,
        facts: PolicyFacts,
        targeting: TargetingIndex,
        max_cells: int = 200_000,
    ) -> None:
        plan = revision.plan
        self.revision = revision
        self.plan: PlanDocument = plan
        self.salt = revision.salt
        self.prefix = f"{self.salt}\x1f".encode()
        """`draw(id, salt)` is `draw_bytes(prefix + id.encode())`: the hot path's form."""
        self.facts = facts
        self.targeting = targeting
        self.cells: dict[tuple[str, ...], Cell] = {}
        """Cells by `cell_key(decision)`; read directly on the hot path, filled by `cell`."""
        self._max_cells = max_cells
        self._rates = [(_compile(r.match), r.rate) for r in plan.rates]
        self._pools = [(_compile(p.match), p.name) for p in plan.pools]
        used = {"language", "policy_id"}  # the default pool; severity and priority
        used.update(d.value for d in plan.strata)
        used.update(name for match, _ in [*self._rates, *self._pools] for name, _ in match)
        if plan.quota is not None:
            used.add("moderator_kind")
        self.cell_key = attrgetter(*(f for f in _CELL_FIELDS if f in used))
        """The fields a cell depends on (only those the plan reads: fewer cells to cache)."""
        self._allocated = dict(revision.allocation.rates) if revision.allocation else {}
        risk = plan.risk
        self._severity = {s: r for s, r in risk.severity.items()}
        self._low = risk.low_confidence
        self._tenure = risk.new_moderators
        self._changes = risk.policy_changes
        self._reviews = {t.moderator_id: t for t in risk.targeted}
        self._risky = any(r is not None for r in (self._low, self._tenure, self._changes))
        self._low_rate = self._low.rate if self._low else 0.0
        self._low_below = self._low.below if self._low else 0.0
        self._tenure_rate = self._tenure.rate if self._tenure else 0.0
        self._tenure_days = self._tenure.days if self._tenure else 0
        self._change_rate = self._changes.rate if self._changes else 0.0
        self._change_days = self._changes.days if self._changes else 0
        self.targets = bool(self._reviews or targeting.by_moderator or targeting.by_market_policy)
        """Whether any targeted rate may apply (then `targeted` must be asked)."""
        self._top_risk = max(self._low_rate, self._tenure_rate, self._change_rate)
        self._quota_kinds = (
            frozenset(k.value for k in plan.quota.moderator_kinds) if plan.quota else frozenset()
        )
        self.floor = plan.floor
        self.due_within = dt.timedelta(hours=plan.due_within_hours)

    def cell(self, decision: DecisionLike) -> Cell:
        """The cached cell of the decision's stratifying fields."""
        key: tuple[str, ...] = self.cell_key(decision)
        found = self.cells.get(key)
        if found is None:
            found = self._new_cell(decision)
            if len(self.cells) >= self._max_cells:
                self.cells.clear()
            self.cells[key] = found
        return found

    def _new_cell(self, decision: DecisionLike) -> Cell:
        plan = self.plan
        stratum = stratum_of(decision, plan.strata)
        pool = next(
            (name for match, name in self._pools if _matches(match, decision)), decision.language
        )
        base = self._allocated.get(stratum)
        if base is None:
            base = next(
                (rate for match, rate in self._rates if _matches(match, decision)), plan.base_rate
            )
        severity = self.facts.severity.get(decision.policy_id)
        severity_rate = self._severity.get(severity, 0.0) if severity is not None else 0.0
        scale = self.revision.scales.get(pool, 1.0)
        highest = max(base, severity_rate, self._top_risk if self._risky else 0.0)
        return Cell(
            stratum=stratum,
            pool=pool,
            base=base,
            severity_rate=severity_rate,
            critical=severity is Severity.CRITICAL,
            scale=scale,
            quota=decision.moderator_kind in self._quota_kinds,
            ceiling=max(min(1.0, highest * scale), self.floor),
        )

    def assess(self, decision: DecisionLike, instant: float) -> Assessment:
        """The probability the plan gives the decision seen at `instant` (epoch seconds)."""
        cell = self.cells.get(self.cell_key(decision))
        if cell is None:
            cell = self.cell(decision)
        raw = cell.base
        risk = self._risk(decision, cell) if self._risky else cell.severity_rate
        reason = TaskReason.UNIFORM
        if risk > raw:
            raw = risk
            reason = TaskReason.RISK
        probability = raw * cell.scale
        if probability > 1.0:
            probability = 1.0
        if probability < self.floor:
            probability = self.floor
        if self.targets:
            targeted = self.targeted(decision, instant)
            if targeted > probability:
                probability = targeted
                reason = TaskReason.TARGETED
        return Assessment(probability, reason, cell)

    def parts(self, decision: DecisionLike, instant: float) -> tuple[float, float, Cell]:
        """The unscaled design rate (max of base and risk), the targeted rate, and the cell:
        what budget planning needs to try other pool scales."""
        cell = self.cell(decision)
        return max(cell.base, self._risk(decision, cell)), self.targeted(decision, instant), cell

    def targeted(self, decision: DecisionLike, instant: float) -> float:
        """The targeted rate in force for the decision (escalation rules, plan reviews)."""
        targeted = self.targeting.rate(decision, instant)
        if self._reviews:
            review = self._reviews.get(decision.moderator_id)
            if review is not None and instant < review.until.timestamp():
                targeted = max(targeted, review.rate)
        return targeted

    def _risk(self, decision: DecisionLike, cell: Cell) -> float:
        risk = cell.severity_rate
        if self._low_rate > risk:
            confidence = decision.confidence
            if (
                confidence is not None
                and confidence < self._low_below
                and decision.moderator_kind == "machine"
            ):
                risk = self._low_rate
        tenure_rate, change_rate = self._tenure_rate, self._change_rate
        if tenure_rate <= risk and change_rate <= risk:
            return risk
        day = decision.decided_at.toordinal()
        if tenure_rate > risk:
            started = decision.moderator_started_at
            if started is not None and day - started.toordinal() < self._tenure_days:
                risk = tenure_rate
        if change_rate > risk:
            since = self.facts.version_from.get((decision.policy_id, decision.policy_version))
            if since is not None and 0 <= day - since < self._change_days:
                risk = change_rate
        return risk

    def priority(self, reason: TaskReason, cell: Cell) -> int:
        """How urgent a task is: targeted and risk before uniform, critical policies first."""
        return min(100, PRIORITY[reason] + (CRITICAL_BONUS if cell.critical else 0))


CompiledMatch = tuple[tuple[str, frozenset[str]], ...]


def _compile(match: Mapping[Dimension, Sequence[str]]) -> CompiledMatch:
    return tuple((dimension.value, frozenset(values)) for dimension, values in match.items())


def _matches(match: CompiledMatch, decision: DecisionLike) -> bool:
    return all(getattr(decision, name) in values for name, values in match)


class Schedule:
    """Every plan revision and targeting rule the sampler knows, each from when it applies.

    `at(instant)` is the revision in force at an instant; `horizon` is the latest instant for
    which the schedule is known to be complete (a revision stored later takes effect after it).
    """

    def __init__(
        self,
        revisions: Sequence[Revision],
        *,
        default: Revision,
        facts: PolicyFacts,
        targeting: TargetingIndex,
        horizon: float,
    ) -> None:
        ordered = sorted(revisions, key=lambda r: (r.effective_from, r.seq))
        self.revisions = ordered
        self.default = default
        self.facts = facts
        self.targeting = targeting
        self.horizon = horizon
        self._starts = [r.effective_from.timestamp() for r in ordered]
        self._selectors: dict[int, Selector] = {}
        self._default_selector = Selector(default, facts=facts, targeting=targeting)
        self._last_start = self._starts[-1] if self._starts else float("-inf")

    def at(self, instant: float) -> Selector:
        """The selector of the revision in force at the instant (epoch seconds)."""
        if instant >= self._last_start and self._starts:
            return self._selector(len(self._starts) - 1)
        index = bisect_right(self._starts, instant) - 1
        if index < 0:
            return self._default_selector
        return self._selector(index)

    @property
    def last_start(self) -> float:
        """When the last revision takes effect (epoch seconds; -inf without revisions)."""
        return self._last_start

    def current(self, instant: float) -> Revision:
        """The revision in force at the instant."""
        return self.at(instant).revision

    def _selector(self, index: int) -> Selector:
        found = self._selectors.get(index)
        if found is None:
            found = Selector(self.revisions[index], facts=self.facts, targeting=self.targeting)
            self._selectors[index] = found
        return found

    def reuse(self, previous: Schedule) -> None:
        """Keep the compiled selectors of revisions both schedules share (their caches are warm)."""
        if previous.facts is not self.facts or previous.targeting is not self.targeting:
            return
        by_seq = {
            previous.revisions[i].seq: selector for i, selector in previous._selectors.items()
        }
        for i, revision in enumerate(self.revisions):
            selector = by_seq.get(revision.seq)
            if selector is not None and selector.revision == revision:
                self._selectors[i] = selector


def day_of(moment: dt.datetime) -> int:
    """The date ordinal of a timestamp (UTC)."""
    return moment.toordinal()


def epoch_day(instant: float) -> int:
    """The date ordinal of an epoch-seconds instant (UTC)."""
    return _EPOCH_ORDINAL + int(instant // 86400)
