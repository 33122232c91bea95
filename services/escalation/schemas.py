"""HTTP response models of the escalation service."""

from __future__ import annotations

from pydantic import BaseModel

from shared.events import Escalation


class CasePage(BaseModel):
    items: list[Escalation]
    next_cursor: str | None
