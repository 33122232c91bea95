"""Metrics: turns tasks and verdicts into quality figures, reports and Prometheus metrics."""
