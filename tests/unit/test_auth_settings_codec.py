"""Tokens, settings and decoding errors: the small rules every service relies on."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from shared.auth import InvalidToken, Role, issue_token, verify_token
from shared.codec import parse
from shared.errors import DecodeError
from shared.events import Decision
from shared.settings import DEFAULT_AUTH_SECRET, Settings

SECRET = "unit-test-secret-of-at-least-32-bytes!"


def test_a_token_carries_subject_and_roles() -> None:
    token = issue_token(
        SECRET, subject="ana", roles=[Role.AUDITOR, Role.LEAD], ttl=dt.timedelta(hours=1)
    )
    principal = verify_token(SECRET, token)
    assert principal.subject == "ana"
    assert principal.has(Role.LEAD) and not principal.has(Role.SME)


def test_expired_wrongly_signed_and_garbage_tokens_are_refused() -> None:
    expired = issue_token(
        SECRET,
        subject="ana",
        roles=[Role.AUDITOR],
        ttl=dt.timedelta(hours=1),
        now=dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
    )
    with pytest.raises(InvalidToken, match="expired"):
        verify_token(SECRET, expired)
    forged = issue_token(
        "another-secret-of-at-least-32-bytes",
        subject="ana",
        roles=[Role.LEAD],
        ttl=dt.timedelta(hours=1),
    )
    with pytest.raises(InvalidToken, match="invalid"):
        verify_token(SECRET, forged)
    with pytest.raises(InvalidToken):
        verify_token(SECRET, "not-a-token")


def test_a_token_verified_before_is_refused_once_it_expires() -> None:
    issued = dt.datetime.now(dt.UTC)
    token = issue_token(
        SECRET, subject="ana", roles=[Role.AUDITOR], ttl=dt.timedelta(hours=1), now=issued
    )
    assert verify_token(SECRET, token).subject == "ana"
    assert verify_token(SECRET, token, now=issued + dt.timedelta(minutes=59)).subject == "ana"
    with pytest.raises(InvalidToken, match="expired"):
        verify_token(SECRET, token, now=issued + dt.timedelta(hours=1))
    with pytest.raises(InvalidToken, match="invalid"):
        verify_token("another-secret-of-at-least-32-bytes", token)


def test_production_refuses_the_default_secret() -> None:
    for environment in ("test", "production"):
        with pytest.raises(ValidationError, match="MODQA_AUTH_SECRET"):
            Settings(environment=environment, auth_secret=DEFAULT_AUTH_SECRET)
        with pytest.raises(ValidationError, match="shorter than 32"):
            Settings(environment=environment, auth_secret="short")
    assert Settings(environment="production", auth_secret="x" * 32).environment == "production"
    assert Settings(environment="development", auth_secret=DEFAULT_AUTH_SECRET)


def test_settings_come_from_modqa_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODQA_KAFKA_BOOTSTRAP", "broker:19092")
    monkeypatch.setenv("MODQA_SAMPLER_BASE_RATE", "0.25")
    settings = Settings()
    assert (settings.kafka_bootstrap, settings.sampler_base_rate) == ("broker:19092", 0.25)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{broken", "not valid JSON"),
        (None, "empty message"),
        (b"[]", "Input should be an object"),
        (b'{"decision_id": "x"}', "content_id: Field required"),
        (b"x" * 300_000, "payload too large"),
    ],
)
def test_undecodable_records_say_why(raw: bytes | None, reason: str) -> None:
    with pytest.raises(DecodeError) as caught:
        parse(Decision, raw)
    assert reason in caught.value.reason


def test_database_restarts_and_conflicts_count_as_transient() -> None:
    import asyncpg
    from sqlalchemy import exc as sa_exc

    from shared.errors import is_transient

    def wrapped(cause: Exception) -> sa_exc.DBAPIError:
        error = sa_exc.DBAPIError("SELECT 1", None, cause)
        error.__cause__ = cause
        return error

    assert is_transient(wrapped(asyncpg.exceptions.CannotConnectNowError("starting up")))
    assert is_transient(wrapped(asyncpg.exceptions.AdminShutdownError("shutting down")))
    assert is_transient(wrapped(asyncpg.exceptions.DeadlockDetectedError("deadlock")))
    assert is_transient(wrapped(asyncpg.exceptions.ConnectionDoesNotExistError("gone")))
    assert not is_transient(wrapped(asyncpg.exceptions.UniqueViolationError("duplicate")))
    assert not is_transient(ValueError("a bug"))


def test_a_lost_broker_connection_is_recognised_however_aiokafkas_sender_wrapped_it() -> None:
    from aiokafka.errors import KafkaConnectionError, KafkaError

    from shared.errors import is_transient, lost_broker_connection
    from tests.support.kafka import as_aiokafkas_sender_raises as as_the_sender_raises

    lost = as_the_sender_raises(KafkaConnectionError("Connection closed"))
    assert lost_broker_connection(lost)
    assert not is_transient(lost)  # the producer is dead: only a new producer may retry
    assert not lost_broker_connection(as_the_sender_raises(ValueError("a bug")))
    assert not lost_broker_connection(KafkaError("a bug"))
