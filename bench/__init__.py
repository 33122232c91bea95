"""Benchmarks, run by their own Makefile targets (`make bench-audit`), never by `make test`."""
