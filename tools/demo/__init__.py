"""The demo: a synthetic decision stream and simulated auditors, so the loop runs on its own."""
