"""Topic names of the design, their partition counts, keys and dead-letter twins."""

from __future__ import annotations

from dataclasses import dataclass

DECISIONS = "moderation.decisions"
TASKS = "audit.tasks"
VERDICTS = "audit.verdicts"
ESCALATIONS = "audit.escalations"
CORRECTIONS = "moderation.corrections"
DISPUTES = "audit.disputes"
TARGETING = "audit.targeting"
SIGNALS = "metrics.signals"
SAMPLER_STATE = "modqa.sampler.state"
"""The sampler's changelog (compacted): per-moderator counters and recent task ids, written in the
same Kafka transaction as the tasks; partition k holds the state of decisions partition k."""
OUTBOX_SERVICES = ("audit", "escalation", "metrics")
"""Services that publish through a transactional outbox relay."""

DLQ_SUFFIX = ".dlq"

PARTITIONS: dict[str, int] = {
    DECISIONS: 6,
    TASKS: 6,
    VERDICTS: 6,
    ESCALATIONS: 3,
    CORRECTIONS: 3,
    DISPUTES: 3,
    TARGETING: 1,
    SIGNALS: 3,
}
"""Partitions per topic; every one of these also gets a `.dlq` twin with one partition per three."""


def outbox_progress(service: str) -> str:
    """The compacted topic where a service's outbox relay records what it has published."""
    return f"modqa.outbox.{service}.progress"


def dlq(topic: str) -> str:
    """The dead-letter twin of a topic."""
    return topic + DLQ_SUFFIX


@dataclass(frozen=True)
class Topics:
    """Topic names as one deployment sees them (a prefix isolates tests and tenants)."""

    prefix: str = ""
    group_prefix: str | None = None
    """Consumer groups' prefix when it differs from the topics' (a replay into a fresh store)."""

    def name(self, base: str) -> str:
        """The deployed name of a base topic name."""
        return f"{self.prefix}{base}"

    def group(self, service: str, purpose: str = "main") -> str:
        """The consumer group id of a service's consumer."""
        prefix = self.prefix if self.group_prefix is None else self.group_prefix
        return f"{prefix}modqa-{service}-{purpose}"

    def all_topics(self) -> dict[str, int]:
        """Every topic to create, with its partition count, including `.dlq` twins."""
        topics: dict[str, int] = {}
        for base, partitions in PARTITIONS.items():
            topics[self.name(base)] = partitions
            topics[self.name(dlq(base))] = max(1, partitions // 3)
        for service in OUTBOX_SERVICES:
            topics[self.name(outbox_progress(service))] = 1
        topics[self.name(SAMPLER_STATE)] = PARTITIONS[DECISIONS]
        return topics

    def compacted(self) -> set[str]:
        """Topics that keep only the latest record per key."""
        return {self.name(outbox_progress(service)) for service in OUTBOX_SERVICES} | {
            self.name(TARGETING),
            self.name(SAMPLER_STATE),
        }

    @property
    def decisions(self) -> str:
        return self.name(DECISIONS)

    @property
    def tasks(self) -> str:
        return self.name(TASKS)

    @property
    def verdicts(self) -> str:
        return self.name(VERDICTS)

    @property
    def escalations(self) -> str:
        return self.name(ESCALATIONS)

    @property
    def corrections(self) -> str:
        return self.name(CORRECTIONS)

    @property
    def disputes(self) -> str:
        return self.name(DISPUTES)

    @property
    def targeting(self) -> str:
        return self.name(TARGETING)

    @property
    def signals(self) -> str:
        return self.name(SIGNALS)

    @property
    def sampler_state(self) -> str:
        return self.name(SAMPLER_STATE)

    def outbox_progress(self, service: str) -> str:
        return self.name(outbox_progress(service))
