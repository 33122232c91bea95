"""`modqa`: the command line of auditors, leads, SMEs, moderation systems and ops.

Exit codes: 0 done; 1 the service refused or could not be reached (one line says why);
2 the command was used wrongly.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from modqa_client import config
from modqa_client.commands import ingest, login, reports
from modqa_client.output import fail
from modqa_client.transport import ModqaError, ServiceUnavailable

F = TypeVar("F", bound=Callable[..., Any])

app = typer.Typer(
    name="modqa",
    help="modqa: audit moderation decisions, arbitrate, escalate and report quality.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def friendly(command: F) -> F:
    """Turn expected failures into one line and exit code 1, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ServiceUnavailable as error:
            fail(
                f"{error.service or 'the service'} is unreachable: {error.message}",
                "is modqa running? `make up` starts it; `modqa profile` shows the addresses",
            )
        except ModqaError as error:
            hint = {
                401: "run `modqa login` with a valid token",
                403: "your token's role may not do this; ask a lead",
            }.get(error.status)
            fail(f"{error.service} refused: {error.message}", hint)
        except config.ConfigError as error:
            fail(str(error), "run `modqa login`")
        raise typer.Exit(1)

    return wrapper  # type: ignore[return-value]


login.register(app, friendly)
ingest.register(app, friendly)
reports.register(app, friendly)


def main() -> None:
    app()
