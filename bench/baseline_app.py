"""The benchmark's baseline: a bare FastAPI app whose one endpoint does one asyncpg INSERT.

`python -m bench.baseline_app` serves it on `MODQA_PORT` against `MODQA_DATABASE_URL` (the
table `bench_inserts` must exist). Same server settings as the services: one uvicorn process.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import uvicorn
from fastapi import FastAPI, Request

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS bench_inserts (
    id bigserial PRIMARY KEY,
    auditor text NOT NULL,
    payload jsonb NOT NULL,
    at timestamptz NOT NULL DEFAULT now()
)
"""


def create_app(database_url: str) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = await asyncpg.create_pool(database_url, min_size=10, max_size=20)
        try:
            yield
        finally:
            await app.state.pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/readyz")
    async def readyz() -> dict[str, bool]:
        return {"ready": True}

    @app.post("/insert")
    async def insert(request: Request, body: dict[str, Any]) -> dict[str, int]:
        row_id = await request.app.state.pool.fetchval(
            "INSERT INTO bench_inserts (auditor, payload) VALUES ($1, $2::jsonb) RETURNING id",
            str(body.get("auditor", "")),
            json.dumps(body),
        )
        return {"id": int(row_id)}

    return app


if __name__ == "__main__":
    url = os.environ["MODQA_DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")
    uvicorn.run(
        create_app(url),
        host="127.0.0.1",
        port=int(os.environ["MODQA_PORT"]),
        log_level="warning",
        access_log=False,
    )
