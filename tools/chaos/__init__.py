"""The chaos harness (`make chaos`): the whole system under faults, then invariants checked."""
