"""Every legal and illegal case transition, due times by severity, SLA breaches."""

from __future__ import annotations

import datetime as dt

import pytest

from services.escalation.domain.cases import (
    TRANSITIONS,
    CaseAction,
    Command,
    IllegalTransition,
    InvalidCommand,
    RootCause,
    StaleRevision,
    apply,
    breach,
    close_by_system,
    open_case,
    raised,
)
from services.escalation.domain.triggers import critical_miss_triggers
from services.escalation.rule_handlers import default_rules
from shared.events import CasePriority, CaseStatus, Escalation
from tests.support.builders import NOW, a_verdict

RULES = default_rules()
SLA = RULES.sla
LATER = NOW + dt.timedelta(minutes=5)
STATUS_ACTIONS = (
    CaseAction.ACKNOWLEDGE,
    CaseAction.INVESTIGATE,
    CaseAction.RESOLVE,
    CaseAction.DISMISS,
)
COMPLETE = {
    "root_cause": RootCause.TRAINING_GAP,
    "root_cause_note": "new hire, missed the grooming signals module",
    "resolution": "coached and re-trained; content removed",
    "owner": "lead-2",
    "note": "n",
}


def a_case(
    status: CaseStatus = CaseStatus.OPEN, severity: CasePriority = CasePriority.P0
) -> Escalation:
    [trigger] = critical_miss_triggers(
        a_verdict(
            outcome="incorrect",
            expected_action="remove",
            expected_policy_id="child_safety",
            error_type="under_enforcement",
            severity="critical",
        ),
        RULES,
    )
    return open_case(trigger, sla=SLA, now=NOW).model_copy(
        update={"status": status, "severity": severity}
    )


def command(action: CaseAction, **kw: object) -> Command:
    return Command(action=action, actor="lead-1", **{**COMPLETE, **kw})  # type: ignore[arg-type]


@pytest.mark.parametrize("status", list(CaseStatus))
@pytest.mark.parametrize("action", STATUS_ACTIONS)
def test_every_status_change_is_either_allowed_or_refused_with_a_reason(
    status: CaseStatus, action: CaseAction
) -> None:
    case = a_case(status)
    target = TRANSITIONS[status].get(action)
    if target is None:
        with pytest.raises(IllegalTransition, match=f"cannot {action.value}"):
            apply(case, command(action), sla=SLA, now=LATER)
        return
    changed = apply(case, command(action), sla=SLA, now=LATER)
    assert changed.status is target
    assert (changed.revision, changed.actor, changed.updated_at) == (
        case.revision + 1,
        "lead-1",
        LATER,
    )


def test_the_legal_paths_are_the_ones_the_lifecycle_promises() -> None:
    legal = {
        (s.value, a.value, t.value) for s, moves in TRANSITIONS.items() for a, t in moves.items()
    }
    assert legal == {
        ("open", "acknowledge", "acknowledged"),
        ("open", "investigate", "investigating"),
        ("open", "dismiss", "dismissed"),
        ("acknowledged", "investigate", "investigating"),
        ("acknowledged", "resolve", "resolved"),
        ("acknowledged", "dismiss", "dismissed"),
        ("investigating", "resolve", "resolved"),
        ("investigating", "dismiss", "dismissed"),
    }


def test_resolving_an_open_case_says_to_acknowledge_first() -> None:
    with pytest.raises(IllegalTransition, match="acknowledge it first"):
        apply(a_case(), command(CaseAction.RESOLVE), sla=SLA, now=LATER)


def test_acknowledging_takes_ownership_and_sets_the_resolve_deadline_from_opening() -> None:
    acked = apply(a_case(), Command(CaseAction.ACKNOWLEDGE, actor="sme-3"), sla=SLA, now=LATER)
    assert (acked.owner, acked.change) == ("sme-3", "acknowledged")
    assert acked.due_at == NOW + dt.timedelta(hours=4), "p0: resolve within 4 hours of opening"
    p2 = apply(
        a_case(severity=CasePriority.P2), command(CaseAction.ACKNOWLEDGE), sla=SLA, now=LATER
    )
    assert p2.due_at == NOW + dt.timedelta(days=3) and p2.owner == "lead-2"


def test_resolution_needs_a_root_cause_and_what_was_done() -> None:
    acked = a_case(CaseStatus.ACKNOWLEDGED)
    with pytest.raises(InvalidCommand, match="root_cause"):
        apply(acked, Command(CaseAction.RESOLVE, actor="a", resolution="done"), sla=SLA, now=LATER)
    with pytest.raises(InvalidCommand, match="resolution"):
        apply(
            acked,
            Command(CaseAction.RESOLVE, actor="a", root_cause=RootCause.TOOLING),
            sla=SLA,
            now=LATER,
        )
    with_cause = apply(
        acked,
        Command(
            CaseAction.SET_ROOT_CAUSE,
            actor="a",
            root_cause=RootCause.LOCALISATION,
            root_cause_note="ko",
        ),
        sla=SLA,
        now=LATER,
    )
    resolved = apply(
        with_cause, Command(CaseAction.RESOLVE, actor="a", resolution="fixed"), sla=SLA, now=LATER
    )
    assert (
        resolved.root_cause,
        resolved.root_cause_note,
        resolved.resolution,
        resolved.due_at,
    ) == (
        "localisation",
        "ko",
        "fixed",
        None,
    )


def test_dismissal_needs_a_reason_and_closed_cases_take_no_more_actions() -> None:
    with pytest.raises(InvalidCommand, match="why"):
        apply(a_case(), Command(CaseAction.DISMISS, actor="a"), sla=SLA, now=LATER)
    dismissed = apply(
        a_case(), Command(CaseAction.DISMISS, actor="a", resolution="duplicate"), sla=SLA, now=LATER
    )
    for action in (CaseAction.ASSIGN, CaseAction.NOTE, CaseAction.SET_ROOT_CAUSE):
        with pytest.raises(IllegalTransition, match="closed"):
            apply(dismissed, command(action), sla=SLA, now=LATER)


def test_assign_note_and_root_cause_keep_the_status() -> None:
    case = a_case(CaseStatus.INVESTIGATING)
    for action, change in (
        (CaseAction.ASSIGN, "assigned"),
        (CaseAction.NOTE, "noted"),
        (CaseAction.SET_ROOT_CAUSE, "root_cause_set"),
    ):
        changed = apply(case, command(action), sla=SLA, now=LATER)
        assert (changed.status, changed.change) == (CaseStatus.INVESTIGATING, change)
    with pytest.raises(InvalidCommand):
        apply(case, Command(CaseAction.ASSIGN, actor="a"), sla=SLA, now=LATER)


def test_a_stale_revision_is_refused() -> None:
    with pytest.raises(StaleRevision, match="revision 1"):
        apply(a_case(), command(CaseAction.ACKNOWLEDGE, expected_revision=3), sla=SLA, now=LATER)
    assert apply(a_case(), command(CaseAction.ACKNOWLEDGE, expected_revision=1), sla=SLA, now=LATER)


def test_a_breach_raises_severity_one_step_and_sets_the_next_reminder() -> None:
    assert [raised(p, 1) for p in CasePriority] == ["p0", "p0", "p1", "p2"]
    assert raised(CasePriority.P3, 3) is CasePriority.P0
    p2 = a_case(severity=CasePriority.P2)
    late = NOW + dt.timedelta(hours=9)
    breached = breach(p2, sla=SLA, raise_by=1, now=late)
    assert (breached.severity, breached.sla_breaches, breached.change) == (
        CasePriority.P1,
        1,
        "sla_breached",
    )
    assert breached.due_at == late + dt.timedelta(hours=1), "due again within p1's acknowledgement"
    again = breach(breach(a_case(), sla=SLA, raise_by=1, now=late), sla=SLA, raise_by=1, now=late)
    assert (again.severity, again.sla_breaches) == (CasePriority.P0, 2)


def test_the_system_closes_an_open_case_whose_reason_went_away() -> None:
    closed = close_by_system(a_case(), resolution="dispute upheld", now=LATER)
    assert closed is not None and (closed.status, closed.actor) == (CaseStatus.RESOLVED, "system")
    assert close_by_system(closed, resolution="again", now=LATER) is None
