"""`python -m tools.topics`: create every topic (and its `.dlq` twin) on MODQA_KAFKA_BOOTSTRAP."""

from __future__ import annotations

import asyncio

from shared.kafka.admin import ensure_topics
from shared.settings import Settings
from shared.topics import Topics


def main() -> None:
    settings = Settings()
    created = asyncio.run(ensure_topics(settings.kafka_bootstrap, Topics(settings.topic_prefix)))
    print(f"topics ready ({len(created)} created)")


if __name__ == "__main__":
    main()
