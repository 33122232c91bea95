"""Running a service process: settings from the environment, JSON logs, uvicorn."""

from __future__ import annotations

from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from shared.observability.logging import configure_logging
from shared.observability.tracing import configure_tracing
from shared.settings import Settings


def serve(service: str, port: int, create_app: Callable[[Settings], FastAPI]) -> None:
    """Build the app from `MODQA_*` settings and serve it until SIGTERM or Ctrl-C."""
    settings = Settings().for_service(service, port)
    configure_logging(service, level=settings.log_level, as_json=settings.log_json)
    configure_tracing(service)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=20,
    )
