"""A service started while Kafka is unreachable waits for it instead of exiting (make chaos saw
services exit at start during broker restarts), and gives up with the error after
`startup_wait_seconds`."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest
from aiokafka.errors import KafkaConnectionError

from shared.clock import SystemClock
from shared.service import ServiceKit
from shared.settings import Settings
from shared.topics import Topics
from tests.support.kafka import read_all
from tools.infra.common import free_port


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.close()


async def forward(port: int, to_host: str, to_port: int) -> asyncio.Server:
    """A TCP forwarder to the real broker on `port` (the bootstrap address a service is given):
    the broker "comes up" when it starts listening."""

    async def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(to_host, to_port)
        await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))

    return await asyncio.start_server(connected, "127.0.0.1", port)


async def test_a_service_started_before_kafka_waits_for_it(
    settings: Settings, topics: Topics
) -> None:
    host, real_port = settings.kafka_bootstrap.rsplit(":", 1)
    port = free_port()
    late = settings.model_copy(
        update={"kafka_bootstrap": f"127.0.0.1:{port}", "startup_wait_seconds": 60.0}
    )
    kit = ServiceKit(late.for_service("audit", 0), SystemClock())
    starting = asyncio.create_task(kit.start())
    await asyncio.sleep(3)
    assert not starting.done()  # still waiting for a broker, not exited
    server = await forward(port, host, int(real_port))
    try:
        await asyncio.wait_for(starting, timeout=60)
        await (await kit.producer.send(topics.verdicts, b"after the wait", key=b"k"))
        assert [r.value for r in await read_all(settings.kafka_bootstrap, topics.verdicts)] == [
            b"after the wait"
        ]
    finally:
        await kit.close()
        server.close()


async def test_a_service_gives_up_on_an_unreachable_kafka_after_the_wait(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    gone = settings.model_copy(
        update={"kafka_bootstrap": f"127.0.0.1:{free_port()}", "startup_wait_seconds": 2.0}
    )
    kit = ServiceKit(gone.for_service("audit", 0), SystemClock())
    with (
        caplog.at_level(logging.WARNING, logger="shared.kafka.producer"),
        pytest.raises(KafkaConnectionError),
    ):
        await kit.start()
    waits = [r for r in caplog.records if r.getMessage().startswith("Kafka unreachable")]
    assert waits  # it waited and tried again before giving up, rather than exiting at once
    await kit.engine.dispose()
