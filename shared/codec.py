"""Decoding consumed records into event models, with reasons a person can act on."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from aiokafka.structs import ConsumerRecord
from pydantic import BaseModel, ValidationError

from shared.errors import DecodeError

M = TypeVar("M", bound=BaseModel)

MAX_EVENT_BYTES = 256 * 1024


def describe(error: ValidationError, limit: int = 8) -> str:
    """A one-line summary of validation errors: `field.path: message; ...`."""
    parts = []
    for item in error.errors()[:limit]:
        location = ".".join(str(part) for part in item["loc"]) or "(value)"
        parts.append(f"{location}: {item['msg']}")
    more = error.error_count() - limit
    if more > 0:
        parts.append(f"... and {more} more")
    return "; ".join(parts)


def parse(model: type[M], raw: bytes | None) -> M:
    """Validate raw JSON bytes as `model`; raise DecodeError with a readable reason."""
    if raw is None:
        raise DecodeError("empty message (null value)")
    if len(raw) > MAX_EVENT_BYTES:
        raise DecodeError(f"payload too large: {len(raw)} bytes (limit {MAX_EVENT_BYTES})")
    try:
        return model.model_validate_json(raw)
    except ValidationError as error:
        if any(item["type"] == "json_invalid" for item in error.errors()):
            raise DecodeError(f"not valid JSON: {error.errors()[0]['msg']}") from error
        raise DecodeError(f"invalid {model.__name__.lower()}: {describe(error)}") from error


def record_decoder(model: type[M]) -> Callable[[ConsumerRecord[bytes, bytes]], M]:
    """A decoder for the consumer runtime that parses each record's value as `model`."""

    def decode(record: ConsumerRecord[bytes, bytes]) -> M:
        return parse(model, record.value)

    return decode
