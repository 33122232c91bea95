"""Rule routes: upload a version (YAML or JSON body), validate, list, show, apply."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, status

from services.escalation import rule_handlers
from services.escalation.deps import Now, RuleEditor, RuleReader, Sessions
from services.escalation.domain.rules import InvalidRules, parse_rules
from services.escalation.repository.rules import StoredRuleSet
from services.escalation.schemas import (
    ApplicationOut,
    RuleProblems,
    RuleSetList,
    RuleSetOut,
    RuleSetSummary,
)
from shared.http import INT4_MAX

router = APIRouter(tags=["rules"])

RuleVersion = Annotated[int, Path(ge=0, le=INT4_MAX, description="0: the built-in set")]

MAX_RULES_BYTES = 256 * 1024
_RULES_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "the rule set, YAML or JSON (see services/escalation/default_rules.yaml)",
        "content": {
            "application/yaml": {"schema": {"type": "string"}},
            "application/json": {"schema": {"type": "object"}},
        },
    }
}


async def _source(request: Request) -> str:
    raw = await request.body()
    if len(raw) > MAX_RULES_BYTES:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE, f"a rule set is at most {MAX_RULES_BYTES} bytes"
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "send the rules as UTF-8 text") from error


def _out(stored: StoredRuleSet, in_force: int) -> RuleSetOut:
    return RuleSetOut(in_force=stored.version == in_force, **stored.__dict__)


def _refused(error: InvalidRules) -> HTTPException:
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        {"message": "the rule set is not valid", "problems": error.problems},
    )


@router.post(
    "/rules",
    response_model=RuleSetOut,
    status_code=status.HTTP_201_CREATED,
    openapi_extra=_RULES_BODY,
    responses={422: {"description": "`detail.problems`: one line per problem"}},
)
async def upload_rules(
    request: Request,
    editor: RuleEditor,
    sessions: Sessions,
    clock: Now,
    note: Annotated[str | None, Query(max_length=500)] = None,
    apply: Annotated[bool, Query(description="put the new version in force at once")] = False,
) -> RuleSetOut:
    """Store a new version of the rules (validated); `apply=true` also puts it in force."""
    source = await _source(request)
    try:
        stored = await rule_handlers.create_rule_set(
            sessions=sessions,
            source=source,
            note=note,
            actor=editor.subject,
            apply=apply,
            now=clock.now(),
        )
    except InvalidRules as error:
        raise _refused(error) from error
    _, in_force = await rule_handlers.get_rule_set(sessions=sessions, version=stored.version)
    return _out(stored, in_force)


@router.post("/rules/validate", response_model=RuleProblems, openapi_extra=_RULES_BODY)
async def validate_rules(request: Request, _: RuleEditor) -> RuleProblems:
    """Check a rule set without storing it."""
    try:
        parse_rules(await _source(request))
    except InvalidRules as error:
        return RuleProblems(valid=False, problems=error.problems)
    return RuleProblems(valid=True, problems=[])


@router.get("/rules", response_model=RuleSetList)
async def list_rules(_: RuleReader, sessions: Sessions) -> RuleSetList:
    """Every version (0 is the built-in set), which one is in force, and recent applications."""
    listing = await rule_handlers.list_rule_sets(sessions=sessions)
    return RuleSetList(
        in_force=listing.in_force,
        versions=[
            RuleSetSummary(
                version=v.version,
                in_force=v.version == listing.in_force,
                note=v.note,
                created_by=v.created_by,
                created_at=v.created_at,
            )
            for v in listing.versions
        ],
        applications=[ApplicationOut(**a.__dict__) for a in listing.applications],
    )


@router.get("/rules/active", response_model=RuleSetOut)
async def show_active_rules(_: RuleReader, sessions: Sessions) -> RuleSetOut:
    """The rule set in force."""
    stored, in_force = await rule_handlers.get_rule_set(sessions=sessions, version=None)
    return _out(stored, in_force)


@router.get("/rules/{version}", response_model=RuleSetOut)
async def show_rules(version: RuleVersion, _: RuleReader, sessions: Sessions) -> RuleSetOut:
    """One version: its source as uploaded and its normalised document."""
    try:
        stored, in_force = await rule_handlers.get_rule_set(sessions=sessions, version=version)
    except rule_handlers.UnknownVersion as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from error
    return _out(stored, in_force)


@router.post("/rules/{version}/apply", response_model=RuleSetOut)
async def apply_rules(
    version: RuleVersion, editor: RuleEditor, sessions: Sessions, clock: Now
) -> RuleSetOut:
    """Put a version in force (0: back to the built-in rules); the next batch uses it."""
    try:
        await rule_handlers.apply_rule_set(
            sessions=sessions, version=version, actor=editor.subject, now=clock.now()
        )
        stored, in_force = await rule_handlers.get_rule_set(sessions=sessions, version=version)
    except rule_handlers.UnknownVersion as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from error
    return _out(stored, in_force)
