"""FastAPI dependencies of the escalation service: sessions, topics, clock and who may do what.

Cases: leads, SMEs and ops see every case, the policy team sees policy cases, auditors none;
leads and SMEs act on them. Rules: leads upload and apply, the same readers list them.
Webhooks: leads and ops manage them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.auth import Principal, Role, require
from shared.clock import Clock
from shared.events import EscalationKind
from shared.topics import Topics

FULL_VIEW = frozenset({Role.LEAD, Role.SME, Role.OPS})
POLICY_KINDS = frozenset({EscalationKind.POLICY_GAP.value})


def _sessions(request: Request) -> async_sessionmaker[AsyncSession]:
    sessions: async_sessionmaker[AsyncSession] = request.app.state.kit.sessions
    return sessions


def _topics(request: Request) -> Topics:
    topics: Topics = request.app.state.kit.topics
    return topics


def _clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


@dataclass(frozen=True)
class Viewer:
    """A caller allowed to read cases, and the case kinds they may see (None: all)."""

    principal: Principal
    kinds: frozenset[str] | None

    def narrowed_to(self, kind: str | None) -> frozenset[str] | None:
        """The kinds to list when the caller asks for one kind (or for any: None)."""
        if kind is None:
            return self.kinds
        return frozenset({kind}) if self.kinds is None else self.kinds & {kind}


async def _viewer(
    principal: Annotated[Principal, Depends(require(Role.LEAD, Role.SME, Role.OPS, Role.POLICY))],
) -> Viewer:
    return Viewer(principal, None if principal.has(*FULL_VIEW) else POLICY_KINDS)


Sessions = Annotated[async_sessionmaker[AsyncSession], Depends(_sessions)]
DeployedTopics = Annotated[Topics, Depends(_topics)]
Now = Annotated[Clock, Depends(_clock)]
CaseReader = Annotated[Viewer, Depends(_viewer)]
CaseActor = Annotated[Principal, Depends(require(Role.LEAD, Role.SME))]
RuleReader = Annotated[Principal, Depends(require(Role.LEAD, Role.SME, Role.OPS, Role.POLICY))]
RuleEditor = Annotated[Principal, Depends(require(Role.LEAD))]
WebhookAdmin = Annotated[Principal, Depends(require(Role.LEAD, Role.OPS))]
