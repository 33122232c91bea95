"""Code shared by the modqa services: contracts, settings, Kafka, database and HTTP helpers."""
