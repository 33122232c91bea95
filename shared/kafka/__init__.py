"""Kafka plumbing: producers, the consumer runtime, dead-letter records, topic administration."""
