"""Error classification shared by consumers and relays: retry what is transient, park the rest."""

from __future__ import annotations

import asyncio

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
        return bool(error.connection_invalidated) or isinstance(
            error, sa_exc.OperationalError | sa_exc.InterfaceError
        )
    if isinstance(error, sa_exc.TimeoutError | sa_exc.DisconnectionError):
        return True
    return isinstance(error, OSError | ConnectionError | TimeoutError | asyncio.TimeoutError)
