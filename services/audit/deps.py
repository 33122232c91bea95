"""FastAPI dependencies of the audit service: app state, and who may call what.

They are `async def` although they do not await: FastAPI runs a plain `def` dependency in a
worker thread, a thread hop per dependency per request for a dictionary lookup."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.audit.catalog import Catalog
from shared.auth import Principal, Role, require
from shared.clock import Clock
from shared.settings import Settings
from shared.topics import Topics


async def _sessions(request: Request) -> async_sessionmaker[AsyncSession]:
    sessions: async_sessionmaker[AsyncSession] = request.app.state.kit.sessions
    return sessions


async def _topics(request: Request) -> Topics:
    topics: Topics = request.app.state.kit.topics
    return topics


async def _clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _catalog(request: Request) -> Catalog:
    catalog: Catalog = request.app.state.catalog
    return catalog


async def _lease(request: Request) -> dt.timedelta:
    return dt.timedelta(seconds=request.app.state.settings.lease_seconds)


@dataclass(frozen=True)
class Service:
    """The app state a work-queue route needs, as one dependency: FastAPI spends about 30 us
    of CPU resolving each dependency of each request, and claim and verdict had five of them
    for dictionary lookups."""

    sessions: async_sessionmaker[AsyncSession]
    catalog: Catalog
    topics: Topics
    clock: Clock
    lease: dt.timedelta


async def _service(request: Request) -> Service:
    state = request.app.state
    return Service(
        sessions=state.kit.sessions,
        catalog=state.catalog,
        topics=state.kit.topics,
        clock=state.clock,
        lease=dt.timedelta(seconds=state.settings.lease_seconds),
    )


Sessions = Annotated[async_sessionmaker[AsyncSession], Depends(_sessions)]
DeployedTopics = Annotated[Topics, Depends(_topics)]
Now = Annotated[Clock, Depends(_clock)]
AppSettings = Annotated[Settings, Depends(_settings)]
LeaseTime = Annotated[dt.timedelta, Depends(_lease)]
References = Annotated[Catalog, Depends(_catalog)]
AuditService = Annotated[Service, Depends(_service)]

STAFF = (Role.LEAD, Role.SME)
"""Leads and SMEs see every task and verdict; auditors see their own work."""

Auditor = Annotated[Principal, Depends(require(Role.AUDITOR))]
Lead = Annotated[Principal, Depends(require(Role.LEAD))]
Sme = Annotated[Principal, Depends(require(Role.SME))]
Staff = Annotated[Principal, Depends(require(*STAFF))]
AuditorOrStaff = Annotated[Principal, Depends(require(Role.AUDITOR, *STAFF))]
Challenger = Annotated[Principal, Depends(require(Role.SYSTEM, Role.LEAD))]
"""Who may raise a dispute: the moderation tool acting for a moderator, or a team lead."""
DisputeReader = Annotated[Principal, Depends(require(Role.SYSTEM, *STAFF))]
PolicyEditor = Annotated[Principal, Depends(require(Role.POLICY, Role.LEAD))]
AnyRole = Annotated[Principal, Depends(require(*Role))]
"""Anyone with a valid token and a role (reading the policy taxonomy)."""


def is_staff(principal: Principal) -> bool:
    """True when the caller sees everything (a lead or an SME)."""
    return principal.has(*STAFF)
