"""Rule set commands and queries: upload a version, apply one, list and show them.

The version in force is read from PostgreSQL by every batch and timer round, so applying a
version takes effect on the next one, in every replica, without a restart.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.escalation.domain.rules import RuleSet, parse_rules, rules_from_document
from services.escalation.repository import rules as rule_repo
from services.escalation.repository.rules import Application, StoredRuleSet

DEFAULT_RULES_FILE = Path(__file__).with_name("default_rules.yaml")
BUILT_IN = 0


class UnknownVersion(LookupError):
    """No rule set has that version."""


@functools.cache
def default_source() -> str:
    """The text of the built-in rule set (version 0)."""
    return DEFAULT_RULES_FILE.read_text()


@functools.cache
def default_rules() -> RuleSet:
    """The built-in rule set, in force until a lead applies a version of their own."""
    return parse_rules(default_source())


async def rules_in_force(session: AsyncSession) -> tuple[int, RuleSet]:
    """The version in force and its rules, inside the caller's transaction."""
    version, document = await rule_repo.in_force(session)
    if version == BUILT_IN or document is None:
        return BUILT_IN, default_rules()
    return version, rules_from_document(document)


def _built_in() -> StoredRuleSet:
    return StoredRuleSet(
        version=BUILT_IN,
        source=default_source(),
        document=default_rules().as_document(),
        note="built-in defaults",
        created_by="modqa",
        created_at=dt.datetime(1970, 1, 1, tzinfo=dt.UTC),
    )


async def create_rule_set(
    *,
    sessions: async_sessionmaker[AsyncSession],
    source: str,
    note: str | None,
    actor: str,
    apply: bool,
    now: dt.datetime,
) -> StoredRuleSet:
    """Validate and store a new version (InvalidRules if it is wrong); apply it if asked."""
    rules = parse_rules(source)
    async with sessions.begin() as session:
        stored = await rule_repo.add_version(
            session,
            source=source,
            document=rules.as_document(),
            note=note,
            created_by=actor,
            now=now,
        )
        if apply:
            await rule_repo.record_application(
                session, version=stored.version, applied_by=actor, now=now
            )
    return stored


async def apply_rule_set(
    *, sessions: async_sessionmaker[AsyncSession], version: int, actor: str, now: dt.datetime
) -> Application:
    """Put a stored version (or 0, the built-in rules) in force."""
    async with sessions.begin() as session:
        if version != BUILT_IN and await rule_repo.get_version(session, version) is None:
            raise UnknownVersion(f"no rule set version {version}")
        return await rule_repo.record_application(
            session, version=version, applied_by=actor, now=now
        )


async def get_rule_set(
    *, sessions: async_sessionmaker[AsyncSession], version: int | None
) -> tuple[StoredRuleSet, int]:
    """A version (None: the one in force) and the version in force."""
    async with sessions() as session:
        active, _ = await rule_repo.in_force(session)
        wanted = active if version is None else version
        if wanted == BUILT_IN:
            return _built_in(), active
        stored = await rule_repo.get_version(session, wanted)
    if stored is None:
        raise UnknownVersion(f"no rule set version {wanted}")
    return stored, active


@dataclass(frozen=True)
class RuleSetListing:
    in_force: int
    versions: list[StoredRuleSet]
    applications: list[Application]


async def list_rule_sets(*, sessions: async_sessionmaker[AsyncSession]) -> RuleSetListing:
    """Every version (the built-in one last), which is in force, and recent applications."""
    async with sessions() as session:
        active, _ = await rule_repo.in_force(session)
        versions = await rule_repo.list_versions(session)
        applied = await rule_repo.applications(session)
    return RuleSetListing(active, [*versions, _built_in()], applied)
