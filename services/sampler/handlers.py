"""Sampler commands: one function per command."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaProducer
from pydantic import ValidationError

from services.sampler.metrics import DECISIONS_INGESTED
from services.sampler.schemas import IngestResult, ItemError
from shared.codec import describe
from shared.events import Decision, encode
from shared.topics import Topics


async def ingest_decisions(
    *, items: list[dict[str, Any]], producer: AIOKafkaProducer, topics: Topics
) -> IngestResult:
    """Validate each decision, produce the valid ones keyed by moderator, wait for acks=all."""
    valid: list[Decision] = []
    rejected: list[ItemError] = []
    for index, item in enumerate(items):
        try:
            valid.append(Decision.model_validate(item))
        except ValidationError as error:
            decision_id = item.get("decision_id") if isinstance(item, dict) else None
            rejected.append(
                ItemError(
                    index=index,
                    decision_id=str(decision_id) if decision_id else None,
                    error=describe(error),
                )
            )
    futures = [
        await producer.send(topics.decisions, encode(d), key=d.moderator_id.encode()) for d in valid
    ]
    await asyncio.gather(*futures)
    DECISIONS_INGESTED.labels("accepted").inc(len(valid))
    DECISIONS_INGESTED.labels("rejected").inc(len(rejected))
    return IngestResult(accepted=len(valid), rejected=rejected)
