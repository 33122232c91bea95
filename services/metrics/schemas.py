"""HTTP response models of the metrics service."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Figure(BaseModel):
    """A rate with the sample it rests on: never shown without its size and interval."""

    rate: float | None
    low: float | None = Field(description="lower bound of the 95% interval")
    high: float | None = Field(description="upper bound of the 95% interval")
    n: int
    firm: bool = Field(description="false when the sample is too small to rely on")


class QualityRow(BaseModel):
    group: dict[str, str]
    accuracy: Figure


class QualityReport(BaseModel):
    group_by: list[str]
    rows: list[QualityRow]
