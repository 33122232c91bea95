"""Error classification shared by consumers and relays: retry what is transient, park the rest."""

from __future__ import annotations

import asyncio

import asyncpg
from aiokafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError
from sqlalchemy import exc as sa_exc


class DecodeError(ValueError):
    """A message that cannot be parsed or validated; `reason` says why in plain words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def is_transient(error: BaseException) -> bool:
    """True when retrying later can succeed: the broker or database is unreachable or busy."""
    if isinstance(error, KafkaError):
        return bool(getattr(error, "retriable", False)) or isinstance(
            error, KafkaConnectionError | KafkaTimeoutError
        )
    if isinstance(error, sa_exc.DBAPIError):
        if error.connection_invalidated or isinstance(
            error, sa_exc.OperationalError | sa_exc.InterfaceError
        ):
            return True
        return any(_transient_database_error(cause) for cause in _causes(error))
    if isinstance(error, sa_exc.TimeoutError | sa_exc.DisconnectionError):
        return True
    if isinstance(error, asyncpg.PostgresError | asyncpg.InterfaceError):  # on the raw driver
        return _transient_database_error(error)
    return isinstance(error, OSError | ConnectionError | TimeoutError | asyncio.TimeoutError)


def lost_broker_connection(error: BaseException) -> bool:
    """True when a Kafka error was caused by a lost broker connection, however aiokafka wrapped
    it: its sender reports one during a transaction commit as "Unexpected error during batch
    delivery" (KafkaError(repr(KafkaConnectionError))). The producer that raised it is dead
    (`is_transient` stays False, so a component that keeps its producer stops and is
    restarted); a component that builds a new producer for each attempt can retry."""
    return isinstance(error, KafkaError) and any(
        isinstance(cause, KafkaConnectionError | KafkaTimeoutError | ConnectionError)
        for cause in _causes(error)
    )


_TRANSIENT_SQLSTATES = ("08", "53", "57P", "40001", "40P01")
"""Connection exceptions, insufficient resources, operator intervention (shutdown, restart,
cannot connect now), serialization failures and deadlocks: all succeed when tried again."""


def _causes(error: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and len(chain) < 10:
        chain.append(current)
        current = getattr(current, "orig", None) or current.__cause__
        if current in chain:
            break
    return chain


def _transient_database_error(error: BaseException) -> bool:
    if isinstance(error, asyncpg.exceptions.InterfaceError | OSError | ConnectionError):
        return True
    sqlstate = getattr(error, "sqlstate", None)
    return isinstance(sqlstate, str) and sqlstate.startswith(_TRANSIENT_SQLSTATES)
