"""DSA statements of reasons map onto decisions; rows that cannot are refused with the reason."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from modqa_client.dsa import Mapped, Refusal, Refused, allowed, statements
from shared.events import Decision

COLUMNS = json.loads(
    (Path(__file__).parents[2] / "client/modqa_client/data/dsa_enums.json").read_text()
)["columns"]


def statement(**fields: str) -> dict[str, str]:
    row = {name: "" for name in COLUMNS}
    row.update(
        {
            "uuid": "6f1e3c2a-0000-4000-8000-000000000001",
            "decision_visibility": '["DECISION_VISIBILITY_CONTENT_REMOVED"]',
            "decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
            "category": "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
            "content_type": '["CONTENT_TYPE_VIDEO","CONTENT_TYPE_TEXT"]',
            "content_language": "DE",
            "territorial_scope": '["DE"]',
            "application_date": "2025-09-01 10:15:00",
            "source_type": "SOURCE_VOLUNTARY",
            "automated_detection": "Yes",
            "automated_decision": "AUTOMATED_DECISION_FULLY",
            "platform_name": "Example Video",
            "platform_uid": "vid-42",
        }
    )
    row.update(fields)
    return row


def as_csv(rows: list[dict[str, str]], columns: list[str] = COLUMNS) -> list[str]:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().splitlines(keepends=True)


def test_a_statement_becomes_a_valid_decision() -> None:
    [mapped] = list(statements(as_csv([statement()])))
    assert isinstance(mapped, Mapped)
    decision = Decision.model_validate(mapped.decision)
    assert decision.decision_id == "dsa-6f1e3c2a-0000-4000-8000-000000000001"
    assert (decision.content_type.value, decision.market, decision.language) == (
        "video",
        "DE",
        "de",
    )
    assert (decision.moderator_kind.value, decision.action.value) == ("machine", "remove")
    assert (decision.source.value, decision.decision_ground.value) == ("proactive", "terms")
    assert decision.automated_detection is True
    assert decision.category == "STATEMENT_CATEGORY_SCAMS_AND_FRAUD"
    assert decision.content_ref.endswith("/statement/6f1e3c2a-0000-4000-8000-000000000001")
    assert decision.decided_at.isoformat() == "2025-09-01T10:15:00+00:00"


def test_the_most_severe_restriction_is_the_action_and_wide_scope_is_the_eu() -> None:
    row = statement(
        decision_account="DECISION_ACCOUNT_TERMINATED",
        territorial_scope='["DE","FR"]',
        automated_decision="AUTOMATED_DECISION_NOT_AUTOMATED",
    )
    [mapped] = list(statements(as_csv([row])))
    assert isinstance(mapped, Mapped)
    assert mapped.decision["action"] == "terminate_account"
    assert mapped.decision["market"] == "EU"
    assert mapped.decision["moderator_kind"] == "human"


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"category": "STATEMENT_CATEGORY_MADE_UP"}, "category: unknown value"),
        ({"content_type": "not json"}, "content_type: not a JSON array"),
        ({"decision_visibility": "[]"}, "decision type: no visibility"),
        ({"content_language": ""}, "content_language: missing"),
        ({"application_date": "yesterday"}, "application_date"),
        ({"territorial_scope": '["Germany"]'}, "territorial_scope"),
        ({"automated_detection": "Maybe"}, "automated_detection: unknown value"),
    ],
)
def test_rows_that_cannot_be_mapped_are_refused_with_the_reason(
    fields: dict[str, str], reason: str
) -> None:
    rows = [statement(), statement(uuid="bad-row", **fields), statement(uuid="third")]
    results = list(statements(as_csv(rows)))
    assert [type(r) for r in results] == [Mapped, Refused, Mapped]
    refused = results[1]
    assert isinstance(refused, Refused)
    assert (refused.row, refused.statement) == (3, "bad-row")
    assert reason in refused.reason


def test_older_exports_without_newer_columns_still_map_and_legacy_categories_pass() -> None:
    old_columns = [c for c in COLUMNS if c != "content_id_ean"]
    row = statement(category="STATEMENT_CATEGORY_PORNOGRAPHY_OR_SEXUALIZED_CONTENT")
    [mapped] = list(statements(as_csv([row], old_columns)))
    assert isinstance(mapped, Mapped)
    assert "STATEMENT_CATEGORY_PORNOGRAPHY_OR_SEXUALIZED_CONTENT" in allowed("category")


def test_a_file_that_is_not_a_statement_export_is_refused_whole() -> None:
    with pytest.raises(Refusal, match="no column"):
        list(statements(["a,b\n", "1,2\n"]))
