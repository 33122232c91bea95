"""`modqa login` and `modqa profile`: where the services are and who you are."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.markup import escape

from modqa_client import config, session
from modqa_client.output import console

API_KEY_PREFIX = "mqk_"


def claims_of(token: str) -> dict[str, Any]:
    """The (unverified) claims of a bearer token, to show who it is for; the services verify.
    An API key (`mqk_<id>_<secret>`) carries none: the services keep its subject and roles."""
    if token.startswith(API_KEY_PREFIX):
        key_id = token[len(API_KEY_PREFIX) :].split("_", 1)[0]
        if not key_id or "_" not in token[len(API_KEY_PREFIX) :]:
            raise typer.BadParameter("this is not a modqa API key (expected mqk_<id>_<secret>)")
        return {"sub": f"API key {key_id}", "api_key": True}
    try:
        payload = token.split(".")[1]
        data: dict[str, Any] = json.loads(
            base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        )
        return data
    except (IndexError, ValueError) as error:
        raise typer.BadParameter(
            "this is not a modqa token (a signed token has three dot-separated parts; an API "
            "key starts with mqk_)"
        ) from error


def register(app: typer.Typer, friendly: Callable[[Any], Any]) -> None:
    profiles = typer.Typer(help="Show and switch profiles (service addresses and token).")
    app.add_typer(profiles, name="profile")

    @app.callback()
    def main(
        profile: Annotated[str | None, typer.Option(help="profile to use for this command")] = None,
    ) -> None:
        """modqa: audit moderation decisions, arbitrate, escalate and report quality."""
        session.use_profile(profile)

    @app.command()
    @friendly
    def login(
        token: Annotated[
            str | None, typer.Option(help="the bearer token (asked if absent)")
        ] = None,
        profile: Annotated[str | None, typer.Option(help="profile to save into")] = None,
        sampler: Annotated[str | None, typer.Option(help="sampler URL")] = None,
        audit: Annotated[str | None, typer.Option(help="audit URL")] = None,
        escalation: Annotated[str | None, typer.Option(help="escalation URL")] = None,
        metrics: Annotated[str | None, typer.Option(help="metrics URL")] = None,
    ) -> None:
        """Save a token (and service addresses) in a profile; the file is readable by you only."""
        secret = token or typer.prompt("Token", hide_input=True)
        claims = claims_of(secret.strip())
        settings = config.load()
        name = profile or session.profile_name()
        chosen = settings.profile(name)
        chosen.token = secret.strip()
        for service, url in (
            ("sampler", sampler),
            ("audit", audit),
            ("escalation", escalation),
            ("metrics", metrics),
        ):
            if url:
                chosen.urls[service] = url.rstrip("/")
        settings.current = name
        path = config.save(settings)
        if claims.get("api_key"):
            console.print(
                f"Logged in with {claims['sub']} on profile [bold]{name}[/] (the services know its "
                f"roles and expiry), saved to {path} (mode 600)."
            )
            return
        expires = dt.datetime.fromtimestamp(claims.get("exp", 0), dt.UTC)
        console.print(
            f"Logged in as [bold]{claims.get('sub')}[/] ({', '.join(claims.get('roles', []))}) "
            f"on profile [bold]{name}[/]; token valid until {expires:%Y-%m-%d %H:%M} UTC, "
            f"saved to {path} (mode 600)."
        )

    @profiles.command("show")
    @friendly
    def show() -> None:
        """List the profiles and their addresses."""
        settings = config.load()
        for name, p in settings.profiles.items():
            who = claims_of(p.token).get("sub") if p.token else "(no token)"
            mark = "*" if name == settings.current else " "
            console.print(f"{mark} [bold]{escape(name)}[/]: {escape(str(who))}")
            for service in config.DEFAULT_URLS:
                console.print(f"    {service:<10} {p.urls[service]}", highlight=False)

    @profiles.command("use")
    @friendly
    def use(name: str) -> None:
        """Make a profile the current one."""
        settings = config.load()
        if name not in settings.profiles:
            raise typer.BadParameter(
                f"no profile {name!r}; `modqa login --profile {name}` makes it"
            )
        settings.current = name
        config.save(settings)
        console.print(f"Using profile [bold]{name}[/].")
