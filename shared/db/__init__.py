"""PostgreSQL access: the async engine, migrations, and the transactional outbox."""
