"""Bearer tokens with roles: HMAC-signed (HS256) with `MODQA_AUTH_SECRET`, checked by every service.

A token names its subject (auditor id, system name...), its roles and its expiry. Services
verify signatures locally, so no service depends on another to authenticate a request.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import jwt
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared import apikeys

ALGORITHM = "HS256"
ISSUER = "modqa"


class Role(StrEnum):
    SYSTEM = "system"
    AUDITOR = "auditor"
    LEAD = "lead"
    SME = "sme"
    POLICY = "policy"
    OPS = "ops"


@dataclass(frozen=True)
class Principal:
    """Who is calling, as the verified token says."""

    subject: str
    roles: frozenset[Role]

    def has(self, *roles: Role) -> bool:
        """True when the caller holds at least one of the roles."""
        return bool(self.roles.intersection(roles))


def issue_token(
    secret: str,
    *,
    subject: str,
    roles: list[Role] | list[str],
    ttl: dt.timedelta,
    now: dt.datetime | None = None,
) -> str:
    """A signed token for a subject with roles, valid for `ttl`."""
    issued = now or dt.datetime.now(dt.UTC)
    claims = {
        "iss": ISSUER,
        "sub": subject,
        "roles": sorted(Role(role).value for role in roles),
        "iat": int(issued.timestamp()),
        "exp": int((issued + ttl).timestamp()),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


class InvalidToken(Exception):
    """The token is missing, malformed, wrongly signed or expired; the message says which."""


def verify_token(secret: str, token: str, *, now: dt.datetime | None = None) -> Principal:
    """The principal of a valid token; raises InvalidToken with a plain reason otherwise."""
    principal, expires = _verified(secret, token)
    if expires <= (now or dt.datetime.now(dt.UTC)).timestamp():
        raise InvalidToken("token expired; log in again")
    return principal


@functools.lru_cache(maxsize=4096)
def _verified(secret: str, token: str) -> tuple[Principal, int]:
    """The principal and expiry of a token, verified once per (secret, token): a caller sends
    the same token with every request, and decoding and checking it again cost about 0.1 ms
    of CPU per request. Only tokens that verify are kept (a raising call caches nothing); the
    expiry, the one check that can change, is made again on every use by `verify_token`."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "sub", "iss"]},
        )
    except jwt.ExpiredSignatureError as error:
        raise InvalidToken("token expired; log in again") from error
    except jwt.InvalidTokenError as error:
        raise InvalidToken(f"invalid token: {error}") from error
    try:
        roles = frozenset(Role(role) for role in claims.get("roles", []))
    except ValueError as error:
        raise InvalidToken(f"invalid token: {error}") from error
    return Principal(subject=str(claims["sub"]), roles=roles), int(claims["exp"])


_bearer = HTTPBearer(auto_error=False)


def _secret(request: Request) -> str:
    secret: str = request.app.state.settings.auth_secret
    return secret


def _stored_keys(request: Request) -> dict[str, apikeys.StoredKey]:
    """The API key file's entries, reloaded when the file changes."""
    path_text = request.app.state.settings.api_keys_file
    if not path_text:
        return {}
    path = Path(path_text)
    stamp = path.stat().st_mtime_ns if path.exists() else 0
    cached = getattr(request.app.state, "api_keys", None)
    if cached is None or cached[0] != stamp:
        cached = (stamp, apikeys.load(path))
        request.app.state.api_keys = cached
    keys: dict[str, apikeys.StoredKey] = cached[1]
    return keys


def verify_api_key(request: Request, key: str) -> Principal:
    """The principal of a valid API key; raises InvalidToken otherwise."""
    try:
        entry = apikeys.check(_stored_keys(request), key, now=dt.datetime.now(dt.UTC))
        roles = frozenset(Role(role) for role in entry.roles)
    except ValueError as error:
        raise InvalidToken(str(error)) from error
    return Principal(subject=entry.subject, roles=roles)


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The verified caller; 401 without a valid bearer token."""
    if credentials is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing bearer token: send 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    try:
        if apikeys.is_api_key(credentials.credentials):
            return verify_api_key(request, credentials.credentials)
        return verify_token(_secret(request), credentials.credentials)
    except InvalidToken as error:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, str(error), headers={"WWW-Authenticate": "Bearer"}
        ) from error


def require(*roles: Role) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency that admits callers holding any of `roles` (403 otherwise)."""
    allowed = frozenset(roles)

    async def dependency(
        principal: Annotated[Principal, Depends(current_principal)],
    ) -> Principal:
        if not principal.roles & allowed:
            names = ", ".join(sorted(role.value for role in allowed))
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, f"this action needs one of the roles: {names}"
            )
        return principal

    return dependency
