"""`python -m tools.demo`: stream synthetic decisions to Kafka and run simulated auditors."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import logging
import os
import signal
import time

from aiokafka import AIOKafkaProducer

from shared.auth import Role, issue_token
from shared.events import encode
from shared.observability.logging import configure_logging
from shared.settings import Settings
from shared.taxonomy import load_taxonomy
from shared.topics import Topics
from tools.demo.auditors import run_auditor
from tools.demo.generator import MARKETS, DecisionStream
from tools.demo.staff import Moderators, run_lead, run_sme

log = logging.getLogger("demo")


async def produce_decisions(
    *,
    settings: Settings,
    stream: DecisionStream,
    rate: float,
    limit: int | None,
    stop: asyncio.Event,
) -> None:
    """Send decisions to `moderation.decisions` at `rate` per second, keyed by moderator."""
    topic = Topics(settings.topic_prefix).decisions
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=20,
    )
    await producer.start()
    try:
        i = 0
        loop = asyncio.get_running_loop()
        started = loop.time()
        while not stop.is_set() and (limit is None or i < limit):
            decision = stream.decision(i, dt.datetime.now(dt.UTC))
            await producer.send(topic, encode(decision), key=decision.moderator_id.encode())
            i += 1
            ahead = i / rate - (loop.time() - started)
            if ahead > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=ahead)
            if i % 1000 == 0:
                log.info("decisions produced", extra={"count": i})
        await producer.flush()
    finally:
        await producer.stop()


async def main_async(args: argparse.Namespace) -> None:
    settings = Settings()
    seed = args.seed if args.seed is not None else int(time.time())
    stream = DecisionStream(load_taxonomy(), seed=seed)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    ttl = dt.timedelta(days=7)
    languages = list(MARKETS.values())
    lead = issue_token(settings.auth_secret, subject="demo-lead", roles=[Role.LEAD], ttl=ttl)
    sme = issue_token(settings.auth_secret, subject="demo-sme", roles=[Role.SME], ttl=ttl)
    tool = issue_token(
        settings.auth_secret, subject="moderation-tool", roles=[Role.SYSTEM], ttl=ttl
    )
    moderators = Moderators(stream)
    auditors = [
        run_auditor(
            name=f"auditor-{languages[n % len(languages)]}-{n}",
            base_url=args.audit_url,
            token=issue_token(
                settings.auth_secret, subject=f"auditor-{n}", roles=[Role.AUDITOR], ttl=ttl
            ),
            stream=stream,
            stop=stop,
            subject=f"auditor-{n}",
            # three languages each, so every language has several auditors (calibration
            # tasks need k distinct ones)
            languages=[languages[(n + k) % len(languages)] for k in range(3)],
            lead_token=lead,
            slip_rate=args.auditor_slip_rate,
            on_verdict=moderators.saw,
        )
        for n in range(args.auditors)
    ]
    staff = [
        moderators.run(base_url=args.audit_url, token=tool, stop=stop),
        run_sme(base_url=args.audit_url, token=sme, stream=stream, stop=stop),
        run_lead(base_url=args.escalation_url, token=lead, stop=stop),
    ]
    await asyncio.gather(
        produce_decisions(
            settings=settings, stream=stream, rate=args.rate, limit=args.limit, stop=stop
        ),
        *auditors,
        *staff,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--rate",
        type=float,
        default=float(os.environ.get("MODQA_DEMO_RATE", 40)),
        help="decisions per second",
    )
    parser.add_argument("--limit", type=int, default=None, help="stop producing after N decisions")
    parser.add_argument("--auditors", type=int, default=6)
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        help="fixes the decision ids; by default each run gets new ones",
    )
    parser.add_argument(
        "--audit-url", default=os.environ.get("MODQA_DEMO_AUDIT_URL", "http://127.0.0.1:8002")
    )
    parser.add_argument(
        "--escalation-url",
        default=os.environ.get("MODQA_DEMO_ESCALATION_URL", "http://127.0.0.1:8003"),
    )
    parser.add_argument(
        "--auditor-slip-rate",
        type=float,
        default=0.03,
        help="share of verdicts an auditor gets wrong (moderators dispute them)",
    )
    args = parser.parse_args()
    configure_logging("demo")
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
