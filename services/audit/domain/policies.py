"""The policy taxonomy as data people edit, pure: what an edit may change.

A version that verdicts may have been judged against is history: its effective date and
actions never change. An edit can rename a policy, change its severity or DSA mapping, and
add versions.
"""

from __future__ import annotations

from shared.taxonomy import Policy, Taxonomy


class PolicyChangeRefused(ValueError):
    """The edit would rewrite a published policy version; the message says which."""


def check_policy_update(old: Policy | None, new: Policy) -> None:
    """PolicyChangeRefused when `new` drops or alters a version `old` had."""
    if old is None:
        return
    for version in old.versions:
        replacement = new.version(version.version)
        if replacement is None:
            raise PolicyChangeRefused(
                f"versions: v{version.version} of '{old.id}' cannot be removed (verdicts may "
                "refer to it); add a new version instead"
            )
        if replacement != version:
            raise PolicyChangeRefused(
                f"versions: v{version.version} of '{old.id}' is published and cannot change; "
                "add a new version instead"
            )


def with_policy(taxonomy: Taxonomy | None, policy: Policy) -> Taxonomy:
    """The taxonomy with one policy added or replaced."""
    others = [p for p in taxonomy.policies if p.id != policy.id] if taxonomy else []
    return Taxonomy(policies=sorted([*others, policy], key=lambda p: p.id))
