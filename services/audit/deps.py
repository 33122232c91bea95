"""FastAPI dependencies of the audit service."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.auth import Principal, Role, require
from shared.clock import Clock
from shared.settings import Settings
from shared.taxonomy import Taxonomy
from shared.topics import Topics


def _sessions(request: Request) -> async_sessionmaker[AsyncSession]:
    sessions: async_sessionmaker[AsyncSession] = request.app.state.kit.sessions
    return sessions


def _topics(request: Request) -> Topics:
    topics: Topics = request.app.state.kit.topics
    return topics


def _clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


def _taxonomy(request: Request) -> Taxonomy:
    taxonomy: Taxonomy = request.app.state.taxonomy
    return taxonomy


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


Sessions = Annotated[async_sessionmaker[AsyncSession], Depends(_sessions)]
DeployedTopics = Annotated[Topics, Depends(_topics)]
Now = Annotated[Clock, Depends(_clock)]
PolicyTaxonomy = Annotated[Taxonomy, Depends(_taxonomy)]
AppSettings = Annotated[Settings, Depends(_settings)]
Auditor = Annotated[Principal, Depends(require(Role.AUDITOR))]
