"""Dead-letter records: the original bytes plus headers saying why, where from and who refused."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from aiokafka.structs import ConsumerRecord

from shared.codec import MAX_EVENT_BYTES
from shared.topics import dlq

MAX_DLQ_VALUE_BYTES = 64 * 1024
"""A payload larger than the event size limit (`MAX_EVENT_BYTES`: no consumer accepts it, so it
can never be replayed) is parked as its first 64 KiB, its size in `modqa.dlq.truncated_from_
bytes`; the whole of it stays at the source offset the headers name, for the source topic's
retention. Carrying hundreds of kB per oversized record into every dead-letter transaction
slowed the valid records around it (`make bench-poison`). A payload within the limit is kept
whole, so it can be replayed once the cause is fixed."""
MAX_REASON_CHARS = 2000

H_REASON = "modqa.dlq.reason"
H_SERVICE = "modqa.dlq.service"
H_TOPIC = "modqa.dlq.source_topic"
H_PARTITION = "modqa.dlq.source_partition"
H_OFFSET = "modqa.dlq.source_offset"
H_FAILED_AT = "modqa.dlq.failed_at"
H_TRUNCATED = "modqa.dlq.truncated_from_bytes"


@dataclass(frozen=True)
class DeadLetter:
    """One message to park on a `.dlq` topic."""

    topic: str
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]


def dead_letter(
    record: ConsumerRecord[bytes, bytes], *, reason: str, service: str, now: dt.datetime
) -> DeadLetter:
    """The dead letter for a consumed record that could not be processed."""
    value = record.value or b""
    headers: list[tuple[str, bytes]] = [
        (H_REASON, reason[:MAX_REASON_CHARS].encode("utf-8", "replace")),
        (H_SERVICE, service.encode()),
        (H_TOPIC, record.topic.encode()),
        (H_PARTITION, str(record.partition).encode()),
        (H_OFFSET, str(record.offset).encode()),
        (H_FAILED_AT, now.isoformat().encode()),
    ]
    if len(value) > MAX_EVENT_BYTES:
        headers.append((H_TRUNCATED, str(len(value)).encode()))
        value = value[:MAX_DLQ_VALUE_BYTES]
    return DeadLetter(topic=dlq(record.topic), key=record.key, value=value, headers=headers)


def header(record: ConsumerRecord[bytes, bytes], name: str) -> str | None:
    """A header of a consumed record as text, or None."""
    for key, value in record.headers or ():
        if key == name:
            return bytes(value).decode("utf-8", "replace")
    return None
