"""Constants written into the SQL text instead of bound as parameters.

A partial index (`WHERE status = 'pending'`) only serves a query whose own condition proves its
predicate; a bound parameter cannot, once PostgreSQL switches a prepared statement to its
generic plan. States are a handful of fixed words, so they go in literally.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import BindParameter, bindparam, literal


def const(value: str) -> BindParameter[str]:
    """One fixed word, rendered into the statement."""
    return literal(value, literal_execute=True)


def consts(name: str, values: Sequence[str]) -> BindParameter[list[str]]:
    """A fixed list for IN, rendered into the statement."""
    return bindparam(name, list(values), expanding=True, literal_execute=True)
