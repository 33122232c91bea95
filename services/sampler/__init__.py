"""Sampler: reads the moderation-decision stream and emits audit tasks with their probabilities."""
