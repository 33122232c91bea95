"""The case lifecycle, pure: opening, growing, commands people give, SLA breaches.

States: open -> acknowledged -> investigating -> resolved, and dismissed from any open state
(see TRANSITIONS). Every change returns a new case with `revision` + 1, `change` naming what
happened and `actor` who did it; anything else is refused with a message that says why.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from services.escalation.domain.rules import Sla
from services.escalation.domain.triggers import CaseTrigger
from shared.events import CasePriority, CaseStatus, Escalation
from shared.ids import derived_id

SYSTEM = "system"
MAX_EVIDENCE = 200
OPEN_STATES = frozenset({CaseStatus.OPEN, CaseStatus.ACKNOWLEDGED, CaseStatus.INVESTIGATING})
CLOSED_STATES = frozenset({CaseStatus.RESOLVED, CaseStatus.DISMISSED})
PRIORITY_ORDER = (CasePriority.P0, CasePriority.P1, CasePriority.P2, CasePriority.P3)


class CaseAction(StrEnum):
    """What a lead or SME can do with a case."""

    ACKNOWLEDGE = "acknowledge"
    INVESTIGATE = "investigate"
    RESOLVE = "resolve"
    DISMISS = "dismiss"
    ASSIGN = "assign"
    SET_ROOT_CAUSE = "set_root_cause"
    NOTE = "note"


class RootCause(StrEnum):
    """Why the problem happened, as the people who investigated it judge."""

    POLICY_UNCLEAR = "policy_unclear"
    LOCALISATION = "localisation"
    TRAINING_GAP = "training_gap"
    TOOLING = "tooling"
    WORKLOAD = "workload"
    MODEL_ERROR = "model_error"
    OTHER = "other"


TRANSITIONS: dict[CaseStatus, dict[CaseAction, CaseStatus]] = {
    CaseStatus.OPEN: {
        CaseAction.ACKNOWLEDGE: CaseStatus.ACKNOWLEDGED,
        CaseAction.INVESTIGATE: CaseStatus.INVESTIGATING,
        CaseAction.DISMISS: CaseStatus.DISMISSED,
    },
    CaseStatus.ACKNOWLEDGED: {
        CaseAction.INVESTIGATE: CaseStatus.INVESTIGATING,
        CaseAction.RESOLVE: CaseStatus.RESOLVED,
        CaseAction.DISMISS: CaseStatus.DISMISSED,
    },
    CaseStatus.INVESTIGATING: {
        CaseAction.RESOLVE: CaseStatus.RESOLVED,
        CaseAction.DISMISS: CaseStatus.DISMISSED,
    },
    CaseStatus.RESOLVED: {},
    CaseStatus.DISMISSED: {},
}
"""Status changes allowed from each status; assign, set_root_cause and note keep the status and
are allowed while the case is open, acknowledged or investigating."""

CHANGE_OF: dict[CaseAction, str] = {
    CaseAction.ACKNOWLEDGE: "acknowledged",
    CaseAction.INVESTIGATE: "investigating",
    CaseAction.RESOLVE: "resolved",
    CaseAction.DISMISS: "dismissed",
    CaseAction.ASSIGN: "assigned",
    CaseAction.SET_ROOT_CAUSE: "root_cause_set",
    CaseAction.NOTE: "noted",
}


class IllegalTransition(Exception):
    """The action is not allowed from the case's status; the message says what is."""


class InvalidCommand(ValueError):
    """The command lacks something the action needs (a root cause, a resolution...)."""


class StaleRevision(Exception):
    """The case changed since the caller read it."""


@dataclass(frozen=True)
class Command:
    """One action on a case by a person."""

    action: CaseAction
    actor: str
    owner: str | None = None
    note: str | None = None
    root_cause: RootCause | None = None
    root_cause_note: str | None = None
    resolution: str | None = None
    expected_revision: int | None = None


def case_id(trigger: CaseTrigger) -> str:
    """Deterministic: the same first trigger always names the same case."""
    return derived_id("case", trigger.kind.value, trigger.subject, trigger.evidence[0])


def open_case(
    trigger: CaseTrigger, *, sla: dict[CasePriority, Sla], now: dt.datetime
) -> Escalation:
    """A new case for a trigger, due for acknowledgement by its severity's deadline."""
    scope = trigger.scope
    return Escalation(
        escalation_id=case_id(trigger),
        kind=trigger.kind,
        severity=trigger.severity,
        status=CaseStatus.OPEN,
        subject=trigger.subject,
        evidence=list(trigger.evidence[:MAX_EVIDENCE]),
        owner=trigger.owner,
        due_at=now + sla[trigger.severity].acknowledge,
        trigger_count=1,
        revision=1,
        updated_at=now,
        opened_at=now,
        change="opened",
        actor=SYSTEM,
        rule_id=trigger.rule_id,
        moderator_id=scope.moderator_id,
        moderator_team=scope.moderator_team,
        market=scope.market,
        policy_id=scope.policy_id,
        figures=list(trigger.figures),
    )


def fresh(trigger: CaseTrigger, handled: frozenset[str]) -> CaseTrigger | None:
    """The trigger without evidence a closed case about the subject already handled."""
    evidence = tuple(e for e in trigger.evidence if e not in handled)
    if not evidence:
        return None
    return CaseTrigger(
        kind=trigger.kind,
        subject=trigger.subject,
        severity=trigger.severity,
        evidence=evidence,
        rule_id=trigger.rule_id,
        scope=trigger.scope,
        owner=trigger.owner,
        figures=trigger.figures,
        target=trigger.target,
    )


def add_evidence(case: Escalation, trigger: CaseTrigger, *, now: dt.datetime) -> Escalation | None:
    """The case with a repeated trigger's new evidence and one more count; None if nothing new."""
    new = [e for e in dict.fromkeys(trigger.evidence) if e not in case.evidence]
    if not new:
        return None
    evidence = [*case.evidence, *new][-MAX_EVIDENCE:]
    return case.model_copy(
        update={
            "evidence": evidence,
            "trigger_count": case.trigger_count + 1,
            "severity": higher(case.severity, trigger.severity),
            "figures": list(trigger.figures) or case.figures,
            "revision": case.revision + 1,
            "updated_at": now,
            "change": "evidence_added",
            "actor": SYSTEM,
        }
    )


def higher(a: CasePriority, b: CasePriority) -> CasePriority:
    """The more urgent of two severities (p0 is the most urgent)."""
    return min(a, b, key=PRIORITY_ORDER.index)


def raised(severity: CasePriority, steps: int) -> CasePriority:
    """A severity raised by some steps, p0 at most."""
    return PRIORITY_ORDER[max(0, PRIORITY_ORDER.index(severity) - steps)]


def apply(
    case: Escalation, command: Command, *, sla: dict[CasePriority, Sla], now: dt.datetime
) -> Escalation:
    """The case after a person's command; raises IllegalTransition, InvalidCommand or
    StaleRevision instead of changing anything it should not."""
    if command.expected_revision is not None and command.expected_revision != case.revision:
        raise StaleRevision(
            f"case {case.escalation_id} is at revision {case.revision}, not "
            f"{command.expected_revision}; reload it and try again"
        )
    action = command.action
    update: dict[str, object] = {}
    if action in (CaseAction.ASSIGN, CaseAction.SET_ROOT_CAUSE, CaseAction.NOTE):
        if case.status not in OPEN_STATES:
            raise IllegalTransition(
                f"cannot {action.value.replace('_', ' ')} on a {case.status.value} case; "
                "it is closed"
            )
    else:
        target = TRANSITIONS[case.status].get(action)
        if target is None:
            raise IllegalTransition(_refusal(case.status, action))
        update["status"] = target
    if action is CaseAction.ACKNOWLEDGE or (
        action is CaseAction.INVESTIGATE and case.status is CaseStatus.OPEN
    ):
        update["owner"] = command.owner or command.actor
        update["due_at"] = _opened(case) + sla[case.severity].resolve
    elif action is CaseAction.INVESTIGATE:
        update["owner"] = command.owner or case.owner or command.actor
    elif action is CaseAction.RESOLVE:
        root_cause = command.root_cause.value if command.root_cause else case.root_cause
        if root_cause is None:
            raise InvalidCommand("resolving needs a root_cause category (and ideally its text)")
        if not command.resolution:
            raise InvalidCommand("resolving needs a resolution: what was done")
        update |= {
            "root_cause": root_cause,
            "root_cause_note": command.root_cause_note or case.root_cause_note,
            "resolution": command.resolution,
            "due_at": None,
        }
    elif action is CaseAction.DISMISS:
        if not command.resolution:
            raise InvalidCommand("dismissing needs a resolution: why the case needs no action")
        update |= {"resolution": command.resolution, "due_at": None}
    elif action is CaseAction.ASSIGN:
        if not command.owner:
            raise InvalidCommand("assigning needs an owner")
        update["owner"] = command.owner
    elif action is CaseAction.SET_ROOT_CAUSE:
        if command.root_cause is None:
            raise InvalidCommand("set_root_cause needs a root_cause category")
        update |= {
            "root_cause": command.root_cause.value,
            "root_cause_note": command.root_cause_note,
        }
    elif action is CaseAction.NOTE and not command.note:
        raise InvalidCommand("a note needs its text")
    update |= {
        "revision": case.revision + 1,
        "updated_at": now,
        "change": CHANGE_OF[action],
        "actor": command.actor,
    }
    return case.model_copy(update=update)


def _refusal(status: CaseStatus, action: CaseAction) -> str:
    allowed = [a.value for a in TRANSITIONS[status]]
    if not allowed:
        return f"cannot {action.value} a {status.value} case: it is closed"
    hint = ""
    if action is CaseAction.RESOLVE and status is CaseStatus.OPEN:
        hint = "; acknowledge it first"
    return (
        f"cannot {action.value} a case that is {status.value}{hint} "
        f"(allowed now: {', '.join(allowed)})"
    )


def _opened(case: Escalation) -> dt.datetime:
    return case.opened_at or case.updated_at


def is_overdue(case: Escalation, *, now: dt.datetime) -> bool:
    """An open case whose due time has passed."""
    return case.status in OPEN_STATES and case.due_at is not None and case.due_at <= now


def sla_phase(case: Escalation) -> str:
    """Which deadline a case is running against: acknowledge (while open) or resolve."""
    return "acknowledge" if case.status is CaseStatus.OPEN else "resolve"


def breach(
    case: Escalation, *, sla: dict[CasePriority, Sla], raise_by: int, now: dt.datetime
) -> Escalation:
    """The case after missing its due time: more urgent, due again within the new severity's
    acknowledgement window (so a p0 nags every 15 minutes until someone acts)."""
    severity = raised(case.severity, raise_by)
    return case.model_copy(
        update={
            "severity": severity,
            "sla_breaches": case.sla_breaches + 1,
            "due_at": now + sla[severity].acknowledge,
            "revision": case.revision + 1,
            "updated_at": now,
            "change": "sla_breached",
            "actor": SYSTEM,
        }
    )


def close_by_system(case: Escalation, *, resolution: str, now: dt.datetime) -> Escalation | None:
    """A case the system closes because its reason went away (a dispute got arbitrated)."""
    if case.status not in OPEN_STATES:
        return None
    return case.model_copy(
        update={
            "status": CaseStatus.RESOLVED,
            "resolution": resolution,
            "due_at": None,
            "revision": case.revision + 1,
            "updated_at": now,
            "change": "resolved",
            "actor": SYSTEM,
        }
    )
