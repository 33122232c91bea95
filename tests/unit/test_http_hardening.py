"""The shared HTTP guards: a NUL character in the URL is refused with 422 before any route
reads it, bounded integer parameters keep to their column's range, and a database or broker
that is away is a 503 to retry, not a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import httpx
from aiokafka.errors import KafkaConnectionError
from fastapi import FastAPI
from sqlalchemy.exc import OperationalError, ProgrammingError

from shared.http import BodySizeLimit, RefuseNulCharacters, instrument


def an_app() -> FastAPI:
    app = FastAPI()

    @app.get("/items/{item_id}")
    async def item(item_id: str, q: str | None = None) -> dict[str, str | None]:
        return {"item_id": item_id, "q": q}

    app.add_middleware(RefuseNulCharacters)
    return app


async def test_a_nul_in_a_query_parameter_or_the_path_is_refused_with_a_message() -> None:
    transport = httpx.ASGITransport(app=an_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        in_query = await http.get("/items/a", params={"q": "x\x00y"})
        in_path = await http.get("/items/a%00b")
        fine = await http.get("/items/a", params={"q": "' OR '1'='1 %00-free ✓"})
    assert (in_query.status_code, in_query.json()["detail"]) == (
        422,
        "q: NUL characters are not allowed",
    )
    assert in_path.status_code == 422 and "NUL" in in_path.json()["detail"]
    assert fine.status_code == 200 and fine.json()["q"] == "' OR '1'='1 %00-free ✓"


async def test_a_chunked_body_over_the_limit_gets_413_not_the_parsers_400() -> None:
    app = FastAPI()

    @app.post("/things")
    async def things(body: dict[str, str]) -> dict[str, int]:
        return {"fields": len(body)}

    app.add_middleware(BodySizeLimit, max_bytes=64)

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"a": "'
        for _ in range(20):
            yield b"x" * 10
        yield b'"}'

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        chunked = await http.post("/things", content=chunks())
        small = await http.post("/things", json={"a": "b"})
    assert "content-length" not in chunked.request.headers
    assert chunked.status_code == 413 and "64 bytes" in chunked.json()["detail"]
    assert small.json() == {"fields": 1}


async def test_a_nul_in_a_json_body_is_refused_and_other_bodies_reach_the_route_whole() -> None:
    app = FastAPI()

    @app.post("/things")
    async def things(body: dict[str, str]) -> dict[str, str]:
        return body

    app.add_middleware(RefuseNulCharacters)
    app.add_middleware(BodySizeLimit, max_bytes=1024)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        nul = await http.post("/things", json={"name": "a\x00b"})
        escaped = await http.post("/things", json={"name": "a\\u0000b"})
        too_big = await http.post("/things", json={"name": "x" * 2000})
    assert (nul.status_code, nul.json()["detail"]) == (422, "body: NUL characters are not allowed")
    assert escaped.status_code == 200 and escaped.json() == {"name": "a\\u0000b"}
    assert too_big.status_code == 413


async def test_an_unavailable_database_or_broker_is_a_503_with_retry_after_not_a_500() -> None:
    app = FastAPI()
    failures: dict[str, Exception] = {
        "refused": ConnectionRefusedError(111, "Connection refused"),
        "restarting": OperationalError(
            "SELECT 1", {}, asyncpg.CannotConnectNowError("the database system is starting up")
        ),
        "broker": KafkaConnectionError("Connection at localhost:9092 closed"),
        "driver": asyncpg.exceptions.ConnectionDoesNotExistError(
            "connection was closed in the middle of operation"
        ),
        "closed": asyncpg.exceptions.InterfaceError("connection is closed"),
        "bug": ProgrammingError("SELECT nope", {}, Exception("column nope does not exist")),
        "driver bug": asyncpg.exceptions.UndefinedColumnError("column nope does not exist"),
    }

    @app.get("/fail/{kind}")
    async def fail(kind: str) -> None:
        raise failures[kind]

    instrument(app, "test")
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        answers = {kind: await http.get(f"/fail/{kind}") for kind in failures}
    for kind in ("refused", "restarting", "broker", "driver", "closed"):
        assert answers[kind].status_code == 503, kind
        assert answers[kind].headers["retry-after"] == "2"
        assert "retry" in answers[kind].json()["detail"]
    for kind in ("bug", "driver bug"):
        assert answers[kind].status_code == 500, kind
        assert answers[kind].json() == {"detail": "internal error"}
