"""`modqa`: the command line of auditors, leads, SMEs, moderation systems and ops.

Exit codes: 0 done; 1 the service refused or could not be reached (one line says why);
2 the command was used wrongly (an unknown option, a choice the taxonomy does not allow).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from modqa_client import config, dsa, judgement
from modqa_client.commands import (
    calibration,
    disputes,
    escalations,
    ingest,
    login,
    me,
    plans,
    reports,
    review,
    tasks,
)
from modqa_client.output import fail
from modqa_client.transport import ModqaError, ServiceUnavailable

F = TypeVar("F", bound=Callable[..., Any])

app = typer.Typer(
    name="modqa",
    help="modqa: audit moderation decisions, arbitrate, escalate and report quality.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

HINTS = {
    401: "run `modqa login` with a valid token",
    403: "your token's role may not do this; ask a lead",
    404: "check the id (`--json` listings show them)",
    409: "the state changed; look again (`show`) and retry",
}


def friendly(command: F) -> F:
    """Turn expected failures into one line and an exit code, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ServiceUnavailable as error:
            fail(
                f"{error.service or 'the service'} is unreachable: {error.message}",
                "is modqa running? `modqa profile show` lists the addresses in use",
            )
        except ModqaError as error:
            fail(f"{error.service} refused: {error.message}", HINTS.get(error.status))
        except config.ConfigError as error:
            fail(str(error), error.hint)
        except (judgement.InvalidChoice, dsa.Refusal) as error:
            fail(str(error))
            raise typer.Exit(2) from None
        raise typer.Exit(1)

    return wrapper  # type: ignore[return-value]


for group in (login, review, tasks, me, disputes, calibration, escalations, plans, reports, ingest):
    group.register(app, friendly)


def main(argv: list[str] | None = None) -> None:
    """The `modqa` command. A command used wrongly (an unknown command or option, a value that
    is not allowed, a missing file) is one line and exit 2, like every other expected error,
    instead of Typer's usage box."""
    try:
        code = app(args=argv, standalone_mode=False)
    except typer.TyperException as error:  # Typer's (vendored) click errors, usage included
        status = getattr(error, "exit_code", 1)
        message = error.format_message() if hasattr(error, "format_message") else str(error)
        if message:  # a group called without a command has printed its help already
            context = getattr(error, "ctx", None)
            fail(message, f"see `{context.command_path} --help`" if context else None)
        sys.exit(status)
    except typer.Abort:
        fail("aborted")
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
