"""Agreement between auditors, pure: Cohen's kappa for pairs, Fleiss' kappa for calibration
rounds (statsmodels' implementations), agreement with the adjudicated reference."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
from statsmodels.stats.inter_rater import cohens_kappa, fleiss_kappa

from services.metrics.domain.estimates import Estimate, wilson


@dataclass(frozen=True)
class Review:
    """One auditor's label of one calibration item."""

    item: str
    auditor: str
    label: str


@dataclass(frozen=True)
class Kappa:
    """A chance-corrected agreement with the number of items it rests on."""

    value: float | None
    items: int


def label_of(outcome: str, expected_action: str | None, expected_policy_id: str | None) -> str:
    """The category two reviews must share to agree: the outcome, and for an incorrect
    decision also the action and policy the auditor expected."""
    if outcome != "incorrect":
        return outcome
    return f"incorrect:{expected_action or '-'}:{expected_policy_id or '-'}"


def pairwise_cohen(reviews: Sequence[Review]) -> dict[tuple[str, str], Kappa]:
    """Cohen's kappa for every pair of auditors over the items both reviewed."""
    by_item: dict[str, dict[str, str]] = {}
    for review in reviews:
        by_item.setdefault(review.item, {})[review.auditor] = review.label
    pairs: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for labels in by_item.values():
        for a, b in combinations(sorted(labels), 2):
            pairs.setdefault((a, b), []).append((labels[a], labels[b]))
    return {pair: cohen(values) for pair, values in sorted(pairs.items())}


def cohen(pairs: Sequence[tuple[str, str]]) -> Kappa:
    """Cohen's kappa of two raters' labels on the same items."""
    if len(pairs) < 2:
        return Kappa(None, len(pairs))
    categories = sorted({label for pair in pairs for label in pair})
    index = {c: i for i, c in enumerate(categories)}
    table = np.zeros((len(categories), len(categories)))
    for a, b in pairs:
        table[index[a], index[b]] += 1
    if len(categories) == 1:
        return Kappa(1.0, len(pairs))
    return Kappa(_finite(float(cohens_kappa(table, return_results=False))), len(pairs))


def fleiss(reviews: Sequence[Review]) -> dict[int, Kappa]:
    """Fleiss' kappa of calibration rounds, per number of reviewers k (the statistic needs
    the same k on every item)."""
    by_item: dict[str, list[str]] = {}
    for review in reviews:
        by_item.setdefault(review.item, []).append(review.label)
    by_k: dict[int, list[list[str]]] = {}
    for labels in by_item.values():
        if len(labels) >= 2:
            by_k.setdefault(len(labels), []).append(labels)
    result: dict[int, Kappa] = {}
    for k, items in sorted(by_k.items()):
        categories = sorted({label for labels in items for label in labels})
        if len(categories) == 1:
            result[k] = Kappa(1.0, len(items))
            continue
        table = np.array([[Counter(labels)[c] for c in categories] for labels in items])
        result[k] = Kappa(_finite(float(fleiss_kappa(table, method="fleiss"))), len(items))
    return result


def agreement_with_reference(
    reviews: Sequence[Review], reference: dict[str, str]
) -> dict[str, Estimate]:
    """Per auditor: the share of their calibration reviews that match the round's reference
    (the adjudicated or agreed label), with a Wilson interval."""
    hits: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    for review in reviews:
        if review.item in reference:
            totals[review.auditor] += 1
            hits[review.auditor] += review.label == reference[review.item]
    return {auditor: wilson(hits[auditor], totals[auditor]) for auditor in sorted(totals)}


def _finite(value: float) -> float | None:
    return value if np.isfinite(value) else None
