"""The four modqa services: sampler, audit, escalation, metrics."""
