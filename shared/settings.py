"""One settings class for every service, read from `MODQA_*` environment variables."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.taxonomy import DEFAULT_TAXONOMY_FILE

DEFAULT_AUTH_SECRET = "modqa-development-secret-change-me"


class Settings(BaseSettings):
    """Runtime configuration; every field maps to `MODQA_<FIELD>`."""

    model_config = SettingsConfigDict(env_prefix="MODQA_", extra="ignore", frozen=True)

    environment: Literal["development", "test", "production"] = "development"
    service_name: str = "modqa"
    host: str = "127.0.0.1"
    port: int = 0
    instance_id: str = Field(default="0", description="distinguishes replicas of one service")

    kafka_bootstrap: str = "localhost:9092"
    topic_prefix: str = Field(
        default="",
        description="Prepended to every topic and consumer group, so tests and tenants never meet.",
    )
    consumer_group_prefix: str | None = Field(
        default=None,
        description="consumer groups' prefix if not the topic prefix (replay into a fresh store)",
    )
    database_url: str = "postgresql+asyncpg://modqa:modqa@localhost:5432/modqa"
    startup_wait_seconds: float = Field(
        default=60.0,
        ge=0,
        description="how long a service starting waits for an unreachable Kafka before it exits",
    )

    auth_secret: str = DEFAULT_AUTH_SECRET
    token_ttl_seconds: int = 8 * 3600
    api_keys_file: str | None = Field(
        default=None, description="JSON file of hashed API keys (python -m tools.apikey)"
    )

    consumer_batch_max: int = Field(default=500, ge=1)
    consumer_poll_ms: int = Field(default=200, ge=1)
    consumer_session_timeout_ms: int = Field(
        default=20_000,
        ge=6_000,
        description="how long the group waits for a member that stopped heartbeating (a crash)",
    )
    outbox_batch_max: int = Field(default=500, ge=1)
    outbox_poll_ms: int = Field(default=100, ge=1)

    sampler_base_rate: float = Field(default=0.05, ge=0.0, le=1.0)
    sampler_plan_salt: str = "modqa-default-salt"
    sampler_batch_max: int = Field(
        default=2000, ge=1, description="decisions per sampler transaction"
    )
    sampler_activation_delay_seconds: float = Field(
        default=30.0,
        gt=0,
        description="a plan revision or targeting rule takes effect this long after it is stored, "
        "so every sampler instance has loaded it before the first decision it applies to",
    )
    sampler_reload_seconds: float = Field(default=2.0, gt=0)
    sampler_replan_seconds: float = Field(
        default=300.0, gt=0, description="how often pool budgets are re-paced"
    )
    sampler_allocation_hours: float = Field(
        default=24.0, gt=0, description="how often Neyman allocation is re-planned"
    )
    sampler_traffic_flush_seconds: float = Field(default=10.0, gt=0)
    sampler_dedupe_days: int = Field(
        default=2, ge=1, description="how long a decision id that became a task is remembered"
    )
    metrics_url: str = Field(
        default="http://127.0.0.1:8004", description="where the metrics service answers"
    )
    lease_seconds: int = Field(default=600, ge=1)
    audit_sweep_seconds: float = Field(
        default=5.0, gt=0, description="how often audit takes back lapsed leases"
    )
    dispute_sla_hours: float = Field(default=48.0, gt=0, description="arbitration due time")
    metrics_refresh_seconds: float = Field(default=2.0, gt=0)
    drift_baseline_error_rate: float = Field(
        default=0.05, gt=0, lt=1, description="in-control error rate the CUSUM watches (p0)"
    )
    drift_shift_ratio: float = Field(
        default=3.0, gt=1, description="the CUSUM is tuned to detect p0 -> ratio x p0"
    )
    drift_arl0: float = Field(
        default=1500, ge=100, description="audits between false alarms for a steady subject"
    )
    quality_target: float = Field(
        default=0.9, gt=0, lt=1, description="accuracy below which reports list a moderator"
    )
    taxonomy_file: str = str(DEFAULT_TAXONOMY_FILE)

    escalation_tick_seconds: float = Field(
        default=15.0, gt=0, description="how often SLA timers, dispute SLAs and targeting run"
    )
    webhook_max_attempts: int = Field(default=8, ge=1, description="attempts before parking")
    webhook_backoff_seconds: float = Field(default=10.0, gt=0, description="first retry delay")
    webhook_backoff_max_seconds: float = Field(default=3600.0, gt=0)
    webhook_timeout_seconds: float = Field(default=5.0, gt=0)
    webhook_poll_ms: int = Field(default=500, ge=1)
    webhook_concurrency: int = Field(default=8, ge=1)
    log_level: str = "INFO"
    log_json: bool = True

    @model_validator(mode="after")
    def _refuse_default_secret_outside_development(self) -> Settings:
        if self.environment != "development" and (
            self.auth_secret == DEFAULT_AUTH_SECRET or len(self.auth_secret) < 32
        ):
            raise ValueError(
                "MODQA_AUTH_SECRET is the development default or shorter than 32 characters; "
                f"set a secret of your own to run with MODQA_ENVIRONMENT={self.environment}"
            )
        return self

    def for_service(self, name: str, port: int) -> Settings:
        """A copy naming the service and its default port (an explicit MODQA_PORT wins)."""
        return self.model_copy(update={"service_name": name, "port": self.port or port})
