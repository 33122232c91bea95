"""FastAPI dependencies of the metrics service."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.auth import Principal, Role, require


def _sessions(request: Request) -> async_sessionmaker[AsyncSession]:
    sessions: async_sessionmaker[AsyncSession] = request.app.state.kit.sessions
    return sessions


Sessions = Annotated[async_sessionmaker[AsyncSession], Depends(_sessions)]
FigureReader = Annotated[Principal, Depends(require(Role.LEAD, Role.SME, Role.POLICY, Role.OPS))]
