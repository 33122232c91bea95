"""FastAPI dependencies of the sampler: what routes may use from the composition root."""

from __future__ import annotations

from typing import Annotated

from aiokafka import AIOKafkaProducer
from fastapi import Depends, Request

from services.sampler.domain import UniformPlan
from shared.auth import Principal, Role, require
from shared.topics import Topics


def _producer(request: Request) -> AIOKafkaProducer:
    producer: AIOKafkaProducer = request.app.state.ingest_producer
    return producer


def _topics(request: Request) -> Topics:
    topics: Topics = request.app.state.topics
    return topics


def _plan(request: Request) -> UniformPlan:
    plan: UniformPlan = request.app.state.plan
    return plan


IngestProducer = Annotated[AIOKafkaProducer, Depends(_producer)]
DeployedTopics = Annotated[Topics, Depends(_topics)]
CurrentPlan = Annotated[UniformPlan, Depends(_plan)]
SystemCaller = Annotated[Principal, Depends(require(Role.SYSTEM))]
PlanReader = Annotated[Principal, Depends(require(Role.LEAD, Role.SME, Role.OPS, Role.SYSTEM))]
