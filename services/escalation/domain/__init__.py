"""The escalation service's pure logic: rules, triggers, cases, corrections, targeting, webhooks.

Nothing here does I/O or reads the clock: handlers pass `now` and the state they loaded.
"""
