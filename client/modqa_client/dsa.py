"""EU DSA Transparency Database statements of reasons (CSV) to modqa decisions.

Columns are read by header name (older exports lack some, e.g. `content_id_ean`); array
columns hold JSON arrays; allowed values come from the Transparency Database's public schema
(`data/dsa_enums.json`, current and pre-July-2025 category lists). A row that cannot be
mapped is refused with the reason, never guessed.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

PORTAL = "https://transparency.dsa.ec.europa.eu/statement/"

CONTENT_TYPES = {
    "CONTENT_TYPE_TEXT": "text",
    "CONTENT_TYPE_IMAGE": "image",
    "CONTENT_TYPE_VIDEO": "video",
    "CONTENT_TYPE_AUDIO": "audio",
    "CONTENT_TYPE_SYNTHETIC_MEDIA": "synthetic_media",
    "CONTENT_TYPE_PRODUCT": "product",
    "CONTENT_TYPE_APP": "app",
    "CONTENT_TYPE_OTHER": "other",
}
# the most severe restriction a statement reports becomes the decision's action
ACTION_SEVERITY = [
    "label",
    "demote",
    "age_restrict",
    "remove",
    "suspend_account",
    "terminate_account",
]
VISIBILITY_ACTIONS = {
    "DECISION_VISIBILITY_CONTENT_REMOVED": "remove",
    "DECISION_VISIBILITY_CONTENT_DISABLED": "remove",
    "DECISION_VISIBILITY_CONTENT_DEMOTED": "demote",
    "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED": "age_restrict",
    "DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED": "demote",
    "DECISION_VISIBILITY_CONTENT_LABELLED": "label",
    "DECISION_VISIBILITY_OTHER": "demote",
}
ACCOUNT_ACTIONS = {
    "DECISION_ACCOUNT_SUSPENDED": "suspend_account",
    "DECISION_ACCOUNT_TERMINATED": "terminate_account",
}
PROVISION_ACTIONS = {
    "DECISION_PROVISION_PARTIAL_SUSPENSION": "suspend_account",
    "DECISION_PROVISION_TOTAL_SUSPENSION": "suspend_account",
    "DECISION_PROVISION_PARTIAL_TERMINATION": "terminate_account",
    "DECISION_PROVISION_TOTAL_TERMINATION": "terminate_account",
}
MONETARY_ACTIONS = {
    "DECISION_MONETARY_SUSPENSION": "demote",
    "DECISION_MONETARY_TERMINATION": "demote",
    "DECISION_MONETARY_OTHER": "demote",
}
SOURCES = {
    "SOURCE_ARTICLE_16": "report",
    "SOURCE_TRUSTED_FLAGGER": "report",
    "SOURCE_TYPE_OTHER_NOTIFICATION": "report",
    "SOURCE_VOLUNTARY": "proactive",
}
AUTOMATED = {
    "AUTOMATED_DECISION_FULLY": "fully",
    "AUTOMATED_DECISION_PARTIALLY": "partially",
    "AUTOMATED_DECISION_NOT_AUTOMATED": "not_automated",
}
GROUNDS = {
    "DECISION_GROUND_ILLEGAL_CONTENT": "illegal",
    "DECISION_GROUND_INCOMPATIBLE_CONTENT": "terms",
}
REQUIRED = ("uuid", "category", "decision_ground", "content_type", "automated_decision")


class Refusal(ValueError):
    """Why a statement cannot become a decision."""


@dataclass(frozen=True)
class Refused:
    row: int
    statement: str | None
    reason: str


@dataclass(frozen=True)
class Mapped:
    row: int
    decision: dict[str, Any]


@cache
def enums() -> dict[str, Any]:
    """The allowed values of every enumerated field, from the public schema."""
    text = resources.files("modqa_client").joinpath("data/dsa_enums.json").read_text()
    data: dict[str, Any] = json.loads(text)
    return data


def allowed(field: str) -> set[str]:
    values = {item["value"] for item in enums().get(field, [])}
    if field == "category":
        values |= {item["value"] for item in enums()["category_legacy_pre_2025_07"]}
    return values


def statements(lines: Iterable[str], **options: str | None) -> Iterator[Mapped | Refused]:
    """Map every row of a statements-of-reasons CSV, in order."""
    reader = csv.DictReader(lines)
    missing = [name for name in REQUIRED if name not in (reader.fieldnames or [])]
    if missing:
        raise Refusal(f"not a statements-of-reasons CSV: no column(s) {', '.join(missing)}")
    for row_number, row in enumerate(reader, start=2):
        try:
            yield Mapped(row_number, to_decision(row, **options))
        except Refusal as refusal:
            yield Refused(row_number, row.get("uuid") or None, str(refusal))


def to_decision(
    row: dict[str, str],
    *,
    queue: str | None = None,
    market: str | None = None,
    language: str | None = None,
) -> dict[str, Any]:
    """One statement as a decision; raises Refusal with the field and the reason."""
    uuid = _required(row, "uuid")
    category = _one_of(row, "category")
    automated = AUTOMATED[_one_of(row, "automated_decision")]
    kinds = [CONTENT_TYPES[_checked("content_type", v)] for v in _array(row, "content_type")]
    if not kinds:
        raise Refusal("content_type: empty")
    scope = [_country(code) for code in _array(row, "territorial_scope")]
    platform = row.get("platform_name") or "platform"
    human = automated != "fully"
    decided = row.get("application_date") or row.get("created_at") or ""
    return {
        "schema": "modqa.decision.v1",
        "decision_id": f"dsa-{uuid}",
        "content_id": row.get("platform_uid") or row.get("content_id_ean") or uuid,
        "content_type": kinds[0],
        "content_ref": PORTAL + uuid,
        "queue": queue or _slug(kinds[0]),
        "market": market or (scope[0] if len(scope) == 1 else "EU"),
        "language": _language(row, language),
        "moderator_id": f"{_slug(platform)}-{'human' if human else 'automated'}",
        "moderator_kind": "human" if human else "machine",
        "moderator_team": _slug(platform),
        "policy_id": _slug(category.removeprefix("STATEMENT_CATEGORY_")),
        "policy_version": 1,
        "action": _action(row),
        "source": SOURCES[_one_of(row, "source_type")] if row.get("source_type") else "proactive",
        "decided_at": _timestamp(decided),
        "automated_detection": _yes_no(row, "automated_detection"),
        "automated_decision": automated,
        "decision_ground": GROUNDS[_one_of(row, "decision_ground")],
        "category": category,
        "territorial_scope": scope or None,
    }


def _required(row: dict[str, str], field: str) -> str:
    value = (row.get(field) or "").strip()
    if not value:
        raise Refusal(f"{field}: missing")
    return value


def _checked(field: str, value: str) -> str:
    if value not in allowed(field):
        raise Refusal(f"{field}: unknown value {value!r}")
    return value


def _one_of(row: dict[str, str], field: str) -> str:
    return _checked(field, _required(row, field))


def _array(row: dict[str, str], field: str) -> list[str]:
    raw = (row.get(field) or "").strip()
    if not raw:
        return []
    try:
        values = json.loads(raw)
    except json.JSONDecodeError as error:
        raise Refusal(f"{field}: not a JSON array ({error.msg})") from error
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise Refusal(f"{field}: not a JSON array of strings")
    return values


def _action(row: dict[str, str]) -> str:
    actions = [
        VISIBILITY_ACTIONS[_checked("decision_visibility", v)]
        for v in _array(row, "decision_visibility")
    ]
    for field, table in (
        ("decision_account", ACCOUNT_ACTIONS),
        ("decision_provision", PROVISION_ACTIONS),
        ("decision_monetary", MONETARY_ACTIONS),
    ):
        value = (row.get(field) or "").strip()
        if value:
            actions.append(table[_checked(field, value)])
    if not actions:
        raise Refusal("decision type: no visibility, account, provision or monetary decision")
    return max(actions, key=ACTION_SEVERITY.index)


def _yes_no(row: dict[str, str], field: str) -> bool | None:
    value = (row.get(field) or "").strip()
    if not value:
        return None
    return _checked(field, value) == "Yes"


def _country(code: str) -> str:
    if not re.fullmatch(r"[A-Z]{2}", code):
        raise Refusal(f"territorial_scope: {code!r} is not a two-letter country code")
    return code


def _language(row: dict[str, str], default: str | None) -> str:
    value = (row.get("content_language") or "").strip().lower() or (default or "")
    if not value:
        raise Refusal("content_language: missing (pass --language to set a default)")
    if not re.fullmatch(r"[a-z]{2,3}", value):
        raise Refusal(f"content_language: {value!r} is not an ISO 639 code")
    return value


def _timestamp(value: str) -> str:
    text = value.strip()
    if not text:
        raise Refusal("application_date: missing")
    try:
        parsed = dt.datetime.fromisoformat(text.replace(" ", "T", 1))
    except ValueError as error:
        raise Refusal(f"application_date: {text!r} is not a date and time") from error
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:64] or "unknown"
