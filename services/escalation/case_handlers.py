"""Case commands and queries over HTTP: one function each, one transaction each."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.escalation.changes import ChangeSet
from services.escalation.domain import cases as lifecycle
from services.escalation.repository import cases as case_repo
from services.escalation.repository import targeting as targeting_repo
from services.escalation.repository.cases import CaseFilter, HistoryEntry
from services.escalation.rule_handlers import rules_in_force
from shared.events import Escalation, TargetingRule
from shared.topics import Topics


class CaseNotFound(LookupError):
    """No case with that id is visible to the caller."""


def _visible(case: Escalation | None, kinds: frozenset[str] | None) -> bool:
    return case is not None and (kinds is None or case.kind.value in kinds)


async def act_on_case(
    *,
    sessions: async_sessionmaker[AsyncSession],
    topics: Topics,
    escalation_id: str,
    command: lifecycle.Command,
    now: dt.datetime,
) -> Escalation:
    """Apply a person's command to a case (raises the lifecycle's refusals as they are)."""
    async with sessions.begin() as session:
        case = await case_repo.lock_case(session, escalation_id)
        if case is None:
            raise CaseNotFound(f"no case {escalation_id}")
        _, rules = await rules_in_force(session)
        changed = lifecycle.apply(case, command, sla=rules.sla, now=now)
        changes = ChangeSet(session, topics=topics, rules=rules, now=now)
        await changes.save(changed, previous=case, note=command.note)
        await changes.flush()
    changes.committed()
    return changed


async def list_cases(
    *,
    sessions: async_sessionmaker[AsyncSession],
    where: CaseFilter,
    after: tuple[dt.datetime, str] | None,
    limit: int,
) -> list[Escalation]:
    """A page of cases, newest first."""
    async with sessions() as session:
        return await case_repo.list_cases(session, where, after=after, limit=limit)


@dataclass(frozen=True)
class CaseDetail:
    case: Escalation
    history: list[HistoryEntry]
    targeting: list[TargetingRule]


async def case_detail(
    *,
    sessions: async_sessionmaker[AsyncSession],
    escalation_id: str,
    kinds: frozenset[str] | None,
) -> CaseDetail:
    """A case with its history and targeting, if the caller may see its kind."""
    async with sessions() as session:
        case = await case_repo.get_case(session, escalation_id)
        if case is None or not _visible(case, kinds):
            raise CaseNotFound(f"no case {escalation_id}")
        history = await case_repo.history(session, escalation_id)
        targeting = await targeting_repo.targeting_of(session, escalation_id)
    return CaseDetail(case, history, targeting)
