"""What the audit handlers refuse, by kind; the app maps each kind to one HTTP status."""

from __future__ import annotations


class NotFound(LookupError):
    """No such task, verdict, dispute, auditor, policy or scorecard (404)."""


class Refused(PermissionError):
    """The caller may not do this to this resource (403); the message says who may."""


class Conflict(RuntimeError):
    """The resource's state does not allow this now (409); the message says why."""
