"""FastAPI dependencies of the metrics service."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.metrics.domain.drift import CusumDesign
from shared.auth import Principal, Role, require
from shared.clock import Clock
from shared.settings import Settings


def _sessions(request: Request) -> async_sessionmaker[AsyncSession]:
    sessions: async_sessionmaker[AsyncSession] = request.app.state.kit.sessions
    return sessions


def _clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _design(request: Request) -> CusumDesign:
    design: CusumDesign = request.app.state.drift_design
    return design


Sessions = Annotated[async_sessionmaker[AsyncSession], Depends(_sessions)]
Now = Annotated[Clock, Depends(_clock)]
AppSettings = Annotated[Settings, Depends(_settings)]
DriftDesign = Annotated[CusumDesign, Depends(_design)]
FigureReader = Annotated[Principal, Depends(require(Role.LEAD, Role.SME, Role.POLICY, Role.OPS))]
StrataReader = Annotated[Principal, Depends(require(Role.SYSTEM, Role.LEAD, Role.OPS))]
