"""Escalation: turns verdicts into cases with SLAs, and wrong decisions into corrections."""
