"""FastAPI dependencies of the sampler: what routes may use from the composition root."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from aiokafka import AIOKafkaProducer
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.sampler.errorrates import ErrorRates
from services.sampler.planstore import ScheduleKeeper
from shared.auth import Principal, Role, require
from shared.clock import Clock
from shared.settings import Settings
from shared.topics import Topics


def _producer(request: Request) -> AIOKafkaProducer:
    producer: AIOKafkaProducer = request.app.state.kit.producer
    return producer


def _topics(request: Request) -> Topics:
    topics: Topics = request.app.state.topics
    return topics


def _sessions(request: Request) -> async_sessionmaker[AsyncSession]:
    sessions: async_sessionmaker[AsyncSession] = request.app.state.kit.sessions
    return sessions


def _keeper(request: Request) -> ScheduleKeeper:
    keeper: ScheduleKeeper = request.app.state.keeper
    return keeper


def _error_rates(request: Request) -> ErrorRates:
    client: ErrorRates = request.app.state.error_rates
    return client


def _clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _delay(request: Request) -> dt.timedelta:
    return dt.timedelta(seconds=_settings(request).sampler_activation_delay_seconds)


IngestProducer = Annotated[AIOKafkaProducer, Depends(_producer)]
DeployedTopics = Annotated[Topics, Depends(_topics)]
Sessions = Annotated[async_sessionmaker[AsyncSession], Depends(_sessions)]
Keeper = Annotated[ScheduleKeeper, Depends(_keeper)]
MetricsClient = Annotated[ErrorRates, Depends(_error_rates)]
Now = Annotated[Clock, Depends(_clock)]
AppSettings = Annotated[Settings, Depends(_settings)]
ActivationDelay = Annotated[dt.timedelta, Depends(_delay)]
SystemCaller = Annotated[Principal, Depends(require(Role.SYSTEM))]
PlanReader = Annotated[Principal, Depends(require(Role.LEAD, Role.SME, Role.OPS, Role.SYSTEM))]
PlanWriter = Annotated[Principal, Depends(require(Role.LEAD))]
