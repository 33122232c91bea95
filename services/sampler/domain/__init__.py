"""The sampler's pure rules: plans, selection, per-moderator state, budgets, allocation, dry runs.

Nothing here does I/O or reads a clock; every module is checked with mypy --strict.
"""
