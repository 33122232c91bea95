"""The claim/verdict hot path's SQL, built and compiled once at import and executed with
parameters on the driver connection (`driver.py`).

SQLAlchemy caches the compiled form of a statement, but finds it by a cache key computed by
walking the statement, and building a Core statement costs as much again: together about
0.5 ms of CPU per statement (a claim and a verdict ran ten), more than PostgreSQL spends
on these one-row reads and writes. These are built and compiled once; each execution only
binds its parameters.

Parameters are named `<prefix>_<column>`; `params(prefix, values)` names a row's values so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    Text,
    and_,
    any_,
    bindparam,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.sql.dml import Insert, Update

from services.audit.domain.verdicts import CLAIMABLE
from services.audit.driver import compiled
from services.audit.tables import audit_log, auditors, leases, outbox, scorecards, tasks, verdicts

Params = dict[str, Any]
AnySelect = Select[*tuple[Any, ...]]


def params(prefix: str, values: Mapping[str, Any]) -> Params:
    """A row's values as the parameters of a statement built with that prefix."""
    return {f"{prefix}_{name}": value for name, value in values.items()}


def row_insert(table: Table, prefix: str, columns: Iterable[str]) -> Insert:
    """An INSERT of one row whose values are the parameters `<prefix>_<column>`."""
    return table.insert().values(
        {name: bindparam(f"{prefix}_{name}", type_=table.c[name].type) for name in columns}
    )


def row_update(table: Table, prefix: str, *, keys: Sequence[str], columns: Sequence[str]) -> Update:
    """An UPDATE of the row whose key columns equal `<prefix>_<key>`, setting `columns` to
    `<prefix>_<column>`."""
    bound = {name: bindparam(f"{prefix}_{name}", type_=table.c[name].type) for name in columns}
    return (
        update(table)
        .where(
            *(table.c[key] == bindparam(f"{prefix}_{key}", type_=table.c[key].type) for key in keys)
        )
        .values(bound)
    )


def together(statements: Sequence[Insert | Update]) -> AnySelect:
    """INSERTs and UPDATEs of different rows as one statement (data-modifying CTEs, one round
    trip). PostgreSQL runs every one of them to completion on the same snapshot, so they must
    not depend on each other's effects."""
    ctes = [statement.cte(f"write_{n}") for n, statement in enumerate(statements)]
    return select(literal(1)).add_cte(*ctes)


def literal_text(value: str) -> ColumnElement[str]:
    """A constant written into the SQL text, not a parameter: the generic plan PostgreSQL keeps
    for a prepared statement can only use a partial index (`tasks_claimable`,
    `leases_active_expiry`) when the query names the index's constants."""
    return literal_column("'" + value.replace("'", "''") + "'")


ONE: ColumnElement[int] = literal_column("1")
"""LIMIT 1 written into the SQL: with `LIMIT $1` a generic plan guesses a tenth of the table
and prefers sorting every claimable task to walking the index."""


def is_claiming_auditor(auditor_id: str | ColumnElement[str]) -> ColumnElement[bool]:
    """The registry row of an active person registered with the `auditor` role."""
    a = auditors
    return and_(
        a.c.auditor_id == auditor_id,
        a.c.active.is_(True),
        literal_text("auditor") == any_(a.c.roles),
    )


def _pick_task() -> AnySelect:
    t, a = tasks, auditors
    auditor_id = bindparam("auditor_id", type_=Text)
    had_it = exists().where(leases.c.task_id == t.c.task_id, leases.c.auditor_id == auditor_id)
    newest = (
        select(scorecards.c.scorecard_id, scorecards.c.version)
        .where(scorecards.c.queue == t.c.queue)
        .order_by(scorecards.c.version.desc())
        .limit(ONE)
    )
    return (
        select(
            t,
            newest.with_only_columns(scorecards.c.scorecard_id)
            .scalar_subquery()
            .label("scorecard_id"),
            newest.with_only_columns(scorecards.c.version)
            .scalar_subquery()
            .label("scorecard_version"),
        )
        .select_from(t, a)
        .where(
            is_claiming_auditor(auditor_id),
            t.c.status.in_([literal_text(s.value) for s in CLAIMABLE]),
            t.c.moderator_id != auditor_id,
            t.c.language == any_(a.c.languages),
            or_(func.cardinality(a.c.markets) == 0, t.c.market == any_(a.c.markets)),
            or_(func.cardinality(a.c.policy_areas) == 0, t.c.policy_id == any_(a.c.policy_areas)),
            ~had_it,
        )
        .order_by(t.c.priority.desc(), t.c.due_at)
        .limit(ONE)
        .with_for_update(skip_locked=True, of=t)
    )


PICK_TASK = compiled(_pick_task())
"""The auditor's (`auditor_id`) most urgent claimable task, locked, skipping locked rows, with
the newest scorecard of its queue (see `repository.pick_task`)."""

TASK_WITH_LEASE = compiled(
    select(
        tasks,
        leases.c.status.label("lease_status"),
        leases.c.scorecard_id.label("lease_scorecard_id"),
        leases.c.scorecard_version.label("lease_scorecard_version"),
        leases.c.extensions.label("lease_extensions"),
        leases.c.leased_at.label("lease_leased_at"),
    )
    .select_from(
        tasks.outerjoin(
            leases,
            (leases.c.task_id == tasks.c.task_id)
            & (leases.c.auditor_id == bindparam("auditor_id", type_=Text)),
        )
    )
    .where(tasks.c.task_id == bindparam("task_id", type_=Text))
    .with_for_update(of=tasks)
)
"""A task (`task_id`), locked, with the lease of `auditor_id` on it."""

LEASE_COLUMNS = (
    "task_id",
    "auditor_id",
    "status",
    "leased_at",
    "expires_at",
    "scorecard_id",
    "scorecard_version",
)
LOG_COLUMNS = ("at", "actor", "action", "subject_type", "subject_id", "details")
VERDICT_COLUMNS = tuple(c.name for c in verdicts.columns)
OUTBOX_COLUMNS = ("topic", "key", "value", "headers")

LOG_INSERT = row_insert(audit_log, "log", LOG_COLUMNS)
VERDICT_INSERT = row_insert(verdicts, "verdict", VERDICT_COLUMNS)

CLAIM_WRITES = compiled(
    together(
        [
            row_insert(leases, "lease", LEASE_COLUMNS),
            row_update(tasks, "task", keys=["task_id"], columns=["active_leases", "status"]),
            LOG_INSERT,
        ]
    )
)
"""A claim's writes: the new lease, the task's counters, the audit log entry."""

VERDICT_WRITES = compiled(
    together(
        [
            VERDICT_INSERT,
            row_update(
                leases, "lease", keys=["task_id", "auditor_id"], columns=["status", "ended_at"]
            ),
            row_update(
                tasks,
                "task",
                keys=["task_id"],
                columns=["active_leases", "reviews_done", "status", "completed_at"],
            ),
            LOG_INSERT,
            row_insert(outbox, "outbox", OUTBOX_COLUMNS),
        ]
    )
)
"""A verdict's writes: the verdict, its lease ended, the task's counters, the audit log entry
and the verdict event in the outbox."""
