"""`python -m modqa_client` runs the `modqa` command line."""

from modqa_client.cli import main

main()
