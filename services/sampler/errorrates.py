"""The sampler's client of the metrics service: recent error rates per stratum, for Neyman
allocation and dry runs. `GET {MODQA_METRICS_URL}/v1/strata/error-rates?by=queue,market&days=28`
with a bearer token (role system) the sampler mints itself."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

import httpx
from pydantic import BaseModel, ConfigDict, Field

from services.sampler.domain.allocation import StratumErrors, stratum_key
from services.sampler.domain.plan import Dimension
from services.sampler.metrics import ERROR_RATE_FETCHES
from shared.auth import Role, issue_token
from shared.clock import Clock

log = logging.getLogger(__name__)

SUBJECT = "sampler"


class _Stratum(BaseModel):
    model_config = ConfigDict(extra="ignore")

    key: dict[str, str]
    error_rate: float | None = Field(default=None, ge=0.0, le=1.0)
    n: int = Field(default=0, ge=0)


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    by: list[str] = Field(default_factory=list)
    strata: list[_Stratum] = Field(default_factory=list)


class ErrorRates:
    """Fetches per-stratum error rates; `fetch` raises, `fetch_or_none` logs and returns None."""

    def __init__(
        self,
        *,
        base_url: str,
        secret: str,
        clock: Clock,
        timeout_s: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._secret = secret
        self._clock = clock
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), timeout=timeout_s, transport=transport
        )

    async def fetch(self, dimensions: Sequence[Dimension], days: int) -> dict[str, StratumErrors]:
        """Error rates by the stratum labels of `dimensions` over the last `days` days."""
        token = issue_token(
            self._secret,
            subject=SUBJECT,
            roles=[Role.SYSTEM],
            ttl=dt.timedelta(minutes=5),
            now=self._clock.now(),
        )
        response = await self._client.get(
            "/v1/strata/error-rates",
            params={"by": ",".join(d.value for d in dimensions), "days": str(days)},
            headers={"Authorization": f"Bearer {token}"},
        )
        response.raise_for_status()
        answer = _Answer.model_validate_json(response.content)
        rates: dict[str, StratumErrors] = {}
        for stratum in answer.strata:
            label = stratum_key(stratum.key, dimensions)
            if label is not None and stratum.error_rate is not None:
                rates[label] = StratumErrors(error_rate=stratum.error_rate, n=stratum.n)
        return rates

    async def fetch_or_none(
        self, dimensions: Sequence[Dimension], days: int
    ) -> dict[str, StratumErrors] | None:
        """Like `fetch`, but a metrics service that is down or answers nonsense gives None."""
        try:
            rates = await self.fetch(dimensions, days)
        except (httpx.HTTPError, ValueError) as error:
            ERROR_RATE_FETCHES.labels("failed").inc()
            log.warning(
                "error rates unavailable; keeping the last allocation",
                extra={"error": f"{type(error).__name__}: {error}"[:300]},
            )
            return None
        ERROR_RATE_FETCHES.labels("ok").inc()
        return rates

    async def close(self) -> None:
        await self._client.aclose()
