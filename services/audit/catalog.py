"""The reference data every verdict is checked against, cached in the process.

Scorecard versions never change once published, so they are kept for good. The policy
taxonomy can be edited: it is read again when the copy is older than `TAXONOMY_TTL_S`, and at
once after an edit made through this process (another replica sees an edit within the TTL).
"""

from __future__ import annotations

import time

from sqlalchemy.ext.asyncio import AsyncSession

from services.audit import repository_admin as admin_repo
from services.audit.domain.scoring import Scorecard
from services.audit.errors import Conflict
from shared.taxonomy import Taxonomy

TAXONOMY_TTL_S = 5.0


class Catalog:
    """The taxonomy (re-read after `ttl_s`) and scorecard versions (kept) of one process."""

    def __init__(self, ttl_s: float = TAXONOMY_TTL_S) -> None:
        self._ttl_s = ttl_s
        self._taxonomy: Taxonomy | None = None
        self._read_at = 0.0
        self._scorecards: dict[tuple[str, int], Scorecard] = {}

    def fresh_taxonomy(self) -> Taxonomy | None:
        """The kept taxonomy if it is at most `ttl_s` old (no database needed), else None."""
        if self._taxonomy is None or time.monotonic() - self._read_at > self._ttl_s:
            return None
        return self._taxonomy

    def known_scorecard(self, scorecard_id: str, version: int) -> Scorecard | None:
        """A scorecard version already kept (no database needed), else None."""
        return self._scorecards.get((scorecard_id, version))

    async def taxonomy(self, session: AsyncSession) -> Taxonomy:
        """The policy taxonomy, at most `ttl_s` old."""
        if self._taxonomy is None or time.monotonic() - self._read_at > self._ttl_s:
            taxonomy = await admin_repo.load_taxonomy(session)
            if taxonomy is None:
                raise Conflict("no policy taxonomy is stored yet; the service seeds it at start")
            self._taxonomy, self._read_at = taxonomy, time.monotonic()
        return self._taxonomy

    def forget_taxonomy(self) -> None:
        """Read the taxonomy again next time (after an edit)."""
        self._taxonomy = None

    async def scorecard(
        self, session: AsyncSession, scorecard_id: str, version: int
    ) -> Scorecard | None:
        """One published scorecard version."""
        key = (scorecard_id, version)
        if key not in self._scorecards:
            found = await admin_repo.get_scorecard(session, scorecard_id, version)
            if found is None:
                return None
            self._scorecards[key] = found
        return self._scorecards[key]
