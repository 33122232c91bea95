"""Audit: the auditors' work queue, verdicts, and their exactly-once emission."""
