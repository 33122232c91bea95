"""The claim/verdict hot path's prebuilt statements, run on the asyncpg connection underneath
SQLAlchemy's pool.

Even a statement built once (`statements.py`) pays for session and transaction state, the
compiled-cache lookup, parameter processing, the result and its rows on every execution
through an ORM session: a transaction of two of them cost 1.3 ms of CPU that way and 0.65 ms
on the driver (the claim and the verdict are two such transactions). So the hot statements
are compiled once to PostgreSQL text with `$n` parameters and run on the driver connection
(asyncpg keeps each prepared on its connection), inside a transaction that the same session
joins: anything else the handler runs through the session (a cache miss, a rare branch) sees
the same snapshot and locks, as a savepoint of that transaction.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, cast

import asyncpg
import orjson
from sqlalchemy import JSON
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

_DIALECT = PGDialect_asyncpg()  # type: ignore[no-untyped-call]


class JsonText(str):
    """A JSON parameter's value already encoded (bound as it is, not encoded again)."""


@dataclass(frozen=True)
class Compiled:
    """A Core statement as PostgreSQL text, with the order of its named parameters."""

    text: str
    names: tuple[str, ...]
    constants: Mapping[str, Any]
    json: frozenset[str]

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        """The positional arguments for these named parameters; JSON ones as JSON text (a
        Python None as JSON null, as SQLAlchemy's JSON type binds it)."""
        return [
            _json(params[name])
            if name in self.json
            else (params[name] if name in params else self.constants[name])
            for name in self.names
        ]


def _json(value: Any) -> str:
    return value if isinstance(value, JsonText) else orjson.dumps(value).decode()


def compiled(statement: ClauseElement) -> Compiled:
    """Compile a statement once for the driver (no connection needed)."""
    result = cast(SQLCompiler, statement.compile(dialect=_DIALECT))
    names = tuple(result.positiontup or ())
    binds = {name: result.binds[name] for name in names}
    return Compiled(
        text=result.string,
        names=names,
        constants={name: b.value for name, b in binds.items() if not b.required},
        json=frozenset(name for name, b in binds.items() if isinstance(b.type, JSON)),
    )


class Columns:
    """A driver record whose columns read as attributes, as SQLAlchemy rows' do."""

    __slots__ = ("_record",)

    def __init__(self, record: asyncpg.Record) -> None:
        self._record = record

    def __getattr__(self, name: str) -> Any:
        try:
            return self._record[name]
        except KeyError:
            raise AttributeError(name) from None


class Transaction:
    """One database transaction: prebuilt statements on the driver, anything else through
    `session` (a savepoint of the same transaction, on the same connection)."""

    def __init__(
        self,
        connection: AsyncConnection,
        driver: asyncpg.Connection,
        sessions: async_sessionmaker[AsyncSession],
    ) -> None:
        self._connection = connection
        self._driver = driver
        self._sessions = sessions
        self._session: AsyncSession | None = None

    @property
    def session(self) -> AsyncSession:
        """A session on this transaction's connection (made when first asked for)."""
        if self._session is None:
            self._session = self._sessions(bind=self._connection)
        return self._session

    async def fetchrow(self, statement: Compiled, params: Mapping[str, Any]) -> Columns | None:
        """The first row of a prebuilt statement's result, if any."""
        record = await self._driver.fetchrow(statement.text, *statement.args(params))
        return None if record is None else Columns(record)

    async def execute(self, statement: Compiled, params: Mapping[str, Any]) -> None:
        """Run a prebuilt statement for its effects."""
        await self._driver.execute(statement.text, *statement.args(params))

    async def end_session(self, *, commit: bool) -> None:
        """Release the session's savepoint (or roll it back) before the transaction ends."""
        if self._session is None:
            return
        try:
            if commit:
                await self._session.commit()
            else:
                await self._session.rollback()
        finally:
            await self._session.close()


@asynccontextmanager
async def transaction(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[Transaction]:
    """A transaction on one connection of the sessions' engine, committed when the block ends
    normally and rolled back when it raises."""
    engine = sessions.kw["bind"]
    if not isinstance(engine, AsyncEngine):
        raise TypeError("driver.transaction needs sessions bound to an AsyncEngine")
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        driver: asyncpg.Connection = raw.driver_connection
        tx = Transaction(connection, driver, sessions)
        try:
            async with driver.transaction():
                try:
                    yield tx
                except BaseException:
                    await tx.end_session(commit=False)
                    raise
                await tx.end_session(commit=True)
        except (asyncpg.InterfaceError, asyncpg.PostgresConnectionError, OSError):
            # the connection is unusable: the pool must not hand it out again
            await connection.invalidate()
            raise
