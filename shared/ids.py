"""Deterministic identifiers: the same input gives the same id, so replays cannot duplicate."""

from __future__ import annotations

import uuid

_NAMESPACE = uuid.UUID("6d6f6471-612d-4d6f-a451-000000000001")


def derived_id(kind: str, *parts: str) -> str:
    """A UUIDv5 of the kind and parts, e.g. `derived_id("task", decision_id, "audit")`."""
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join((kind, *parts))))


def task_id(decision_id: str, purpose: str) -> str:
    """The id of the task auditing `decision_id` for `purpose` (audit, calibration, gold...)."""
    return derived_id("task", decision_id, purpose)


def correction_id(decision_id: str, verdict_id: str) -> str:
    """The id of the correction a final verdict triggers for a decision."""
    return derived_id("correction", decision_id, verdict_id)


def new_id() -> str:
    """A fresh random id for things created by a person's request."""
    return str(uuid.uuid4())
