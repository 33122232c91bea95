"""What every benchmark's settings share."""

BENCH_AUTH_SECRET = "modqa-bench-secret-not-for-any-deployment"
"""Outside development the settings refuse the built-in secret; the benchmarks sign their own
tokens with this one (it is never a deployment's)."""
