"""Prebuilt statements for the driver: $n text, parameter order, constants and JSON values."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import Integer, Text, bindparam, literal_column, select

from services.audit import statements as sql
from services.audit.driver import JsonText, compiled
from services.audit.tables import audit_log, tasks

pytestmark = pytest.mark.unit


def test_named_parameters_become_positional_in_the_order_of_the_text() -> None:
    statement = compiled(
        select(tasks.c.task_id).where(
            tasks.c.queue == bindparam("queue", type_=Text),
            tasks.c.priority > bindparam("above", type_=Integer),
            tasks.c.moderator_id != bindparam("queue", type_=Text),
        )
    )
    assert "$1" in statement.text and "$2" in statement.text and "%(" not in statement.text
    assert statement.args({"above": 5, "queue": "video"}) == ["video", 5]


def test_literal_values_of_the_statement_are_bound_from_the_statement() -> None:
    statement = compiled(
        select(literal_column("1")).where(tasks.c.priority == 7, tasks.c.task_id == bindparam("t"))
    )
    assert statement.args({"t": "task-1"}) == [7, "task-1"]


def test_json_parameters_are_sent_as_json_text_and_none_as_json_null() -> None:
    statement = compiled(sql.LOG_INSERT)
    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    entry = {
        "log_at": at,
        "log_actor": "a-1",
        "log_action": "task.claimed",
        "log_subject_type": "task",
        "log_subject_id": "t-1",
        "log_details": {"lease_expires_at": "2026-01-01T00:10:00+00:00", "n": 2},
    }
    args = statement.args(entry)
    details = args[statement.names.index("log_details")]
    assert json.loads(details) == entry["log_details"]
    assert args[statement.names.index("log_at")] is at
    assert statement.args({**entry, "log_details": None})[statement.names.index("log_details")] == (
        "null"
    )


def test_json_text_already_encoded_is_bound_as_it_is() -> None:
    statement = compiled(
        audit_log.insert().values(details=bindparam("d", type_=audit_log.c.details.type))
    )
    assert statement.args({"d": JsonText('{"a": 1}')}) == ['{"a": 1}']


def test_a_missing_parameter_is_an_error_not_a_null() -> None:
    with pytest.raises(KeyError):
        sql.TASK_WITH_LEASE.args({"task_id": "t-1"})
