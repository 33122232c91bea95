"""SQL of the escalation service, by subject: cases, consumed events, rules, webhooks.

Every function runs inside the caller's transaction.
"""
