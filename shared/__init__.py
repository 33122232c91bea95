"""Code shared by the modqa services: event contracts, settings, Kafka, database and HTTP helpers."""
