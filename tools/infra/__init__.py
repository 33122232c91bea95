"""Local infrastructure for `make up` and the tests: Kafka (KRaft) and PostgreSQL, real ones."""
