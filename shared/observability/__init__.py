"""Metrics and logs every service exposes the same way."""
