"""`make bench-poison`: the sampler on poisoned input (issue 9).

Two freshly filled topics hold the same valid decisions; one also has 1% malformed records
mixed in evenly (tests/support/poison.py's kinds in turn: broken JSON, missing fields, wrong
types, unknown enums, huge payloads, wrong encodings). The sampler (transactional, as
deployed) consumes each topic in a fresh process, both topics in each round; the valid
decisions/s of both are printed with their ratio (target >= 95%: best against best, the median
of the rounds' ratios, and by CPU time), next to what a raw consumer that does nothing pays to
read each topic (the floor: the huge payloads cost any consumer their bytes), then every
malformed record is looked for on
`moderation.decisions.dlq` with a `modqa.dlq.reason` header. Exits non-zero if one is missing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import tempfile
import warnings
from pathlib import Path
from typing import Any

from bench.sampler import PLAN, _measure, extension_status, fill
from shared.settings import Settings
from shared.topics import Topics, dlq

KINDS = (
    "broken_json",
    "missing_fields",
    "wrong_types",
    "unknown_enums",
    "huge_payloads",
    "wrong_encodings",
)


def poison_payloads(count: int, seed: int = 11) -> list[tuple[str, bytes]]:
    """`count` malformed payloads, the kinds in turn, drawn from the test suite's strategies."""
    from hypothesis.errors import NonInteractiveExampleWarning

    from tests.support import poison

    random.seed(seed)
    payloads = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NonInteractiveExampleWarning)
        for i in range(count):
            kind = KINDS[i % len(KINDS)]
            payloads.append((kind, getattr(poison, kind).example()))
    return payloads


async def dead_letters(bootstrap: str, topic: str) -> list[Any]:
    from tools.infra.topics_read import read_all

    return await read_all(bootstrap, dlq(topic), timeout_s=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--decisions", type=int, default=200_000, help="valid decisions a topic")
    parser.add_argument("--share", type=float, default=0.01, help="malformed share of a topic")
    parser.add_argument("--repeat", type=int, default=4, help="rounds (clean, then poisoned)")
    parser.add_argument("--batch", type=int, default=Settings().sampler_batch_max)
    args = parser.parse_args()

    from shared.db.migrations import upgrade_all
    from shared.kafka.admin import ensure_topics
    from tools.infra.common import free_port
    from tools.infra.kafka import KafkaBroker
    from tools.infra.postgres import PostgresServer

    home = Path(tempfile.mkdtemp(prefix="modqa-bench-poison-"))
    home.chmod(0o755)
    kafka = KafkaBroker(home / "kafka", port=free_port(), controller_port=free_port())
    postgres = PostgresServer(home / "postgres", port=free_port())
    try:
        print(f"aiokafka C extension: {extension_status()}", flush=True)
        kafka.start()
        postgres.start()
        clean, poisoned = Topics(prefix="bench.clean."), Topics(prefix="bench.poison.")
        asyncio.run(ensure_topics(kafka.bootstrap, clean))
        asyncio.run(ensure_topics(kafka.bootstrap, poisoned))
        upgrade_all(postgres.url())
        from bench.sampler_run import store_plan

        asyncio.run(store_plan(postgres.url(), PLAN))
        n = args.decisions
        bad = poison_payloads(round(n * args.share / (1 - args.share)))
        print(f"filling two topics with {n:,} valid decisions, one with {len(bad):,} malformed")
        asyncio.run(fill(kafka.bootstrap, clean.decisions, n, moderators=None, run="p"))
        asyncio.run(
            fill(
                kafka.bootstrap,
                poisoned.decisions,
                n,
                moderators=None,
                run="p",
                poison=[payload for _, payload in bad],
            )
        )
        env = {**os.environ, "MODQA_LOG_JSON": "false", "MODQA_LOG_LEVEL": "ERROR"}
        where = ["--bootstrap", kafka.bootstrap, "--database-url", postgres.url()]
        where += ["--batch", str(args.batch)]
        common = [*where, "--mode", "tx", "--total", str(n)]
        rates: dict[str, list[float]] = {"clean": [], "poisoned": []}
        cpu: dict[str, list[float]] = {"clean": [], "poisoned": []}
        raw_common = [*where, "--mode", "raw"]
        for name, topic, total in (
            ("clean", clean.decisions, n),
            ("poisoned", poisoned.decisions, n + len(bad)),
        ):  # the floor: what reading each topic costs a consumer that does nothing
            result = _measure(env, *raw_common, "--topic", topic, "--total", str(total))
            print(
                f"  raw {name:<9} {result['rate']:>10,.0f} records/s; "
                f"{result['cpu_us']:.1f} us CPU a record",
                flush=True,
            )
        for round_ in range(args.repeat):
            for name, topic in (("clean", clean.decisions), ("poisoned", poisoned.decisions)):
                result = _measure(env, *common, "--topic", topic, "--run", f"{name}{round_}")
                rates[name].append(result["rate"])
                cpu[name].append(result["cpu_us"])
                phases = ", ".join(f"{k} {v}" for k, v in result["phases_us_per_decision"].items())
                print(
                    f"  {name:<9} {result['rate']:>10,.0f} valid decisions/s; "
                    f"{result['cpu_us']:.1f} us CPU a decision; wall us a decision: {phases}",
                    flush=True,
                )

        letters = asyncio.run(dead_letters(kafka.bootstrap, poisoned.decisions))
        reasons = [dict(r.headers).get("modqa.dlq.reason", b"").decode() for r in letters]
        origins = {
            (dict(r.headers).get("modqa.dlq.source_partition"), dict(r.headers).get(k))
            for r in letters
            for k in ["modqa.dlq.source_offset"]
        }
        # each round re-reads the topic with a new group: every malformed record once a round
        expected = len(bad) * args.repeat
        with_reason = sum(1 for reason in reasons if reason)
        best_clean, best_poisoned = max(rates["clean"]), max(rates["poisoned"])
        ratio = best_poisoned / best_clean
        # each round measures both topics back to back: the median of the rounds' ratios is
        # the least sensitive to other work on a shared machine; CPU time is less still
        per_round = [p / c for c, p in zip(rates["clean"], rates["poisoned"], strict=True)]
        cpu_ratio = statistics.median(cpu["clean"]) / statistics.median(cpu["poisoned"])
        print()
        print("modqa sampler on poisoned input (transactional, same valid decisions, best of "
              f"{args.repeat})")  # fmt: skip
        print(f"  clean topic                 {best_clean:>10,.0f} valid decisions/s")
        print(
            f"  with {args.share:.0%} malformed ({len(bad):,}) {best_poisoned:>10,.0f} valid "
            "decisions/s"
        )
        print(f"  poisoned / clean            {ratio:>10.1%}   (target >= 95%)")
        print(
            f"  median of the rounds' ratios {statistics.median(per_round):>9.1%}   "
            f"(rounds: {', '.join(f'{r:.0%}' for r in per_round)})"
        )
        print(
            f"  by CPU time a valid decision {cpu_ratio:>9.1%}   (medians: clean "
            f"{statistics.median(cpu['clean']):.1f} us, poisoned "
            f"{statistics.median(cpu['poisoned']):.1f} us)"
        )
        kinds = ", ".join(f"{k} {sum(1 for kk, _ in bad if kk == k)}" for k in KINDS)
        print(f"  malformed by kind: {kinds}")
        print(
            f"  dead letters: {len(letters):,} of {expected:,} expected ({len(bad):,} a round), "
            f"{with_reason:,} with a reason, {len(origins):,} distinct source records"
        )
        for reason in sorted({r.split(":")[0][:60] for r in reasons})[:8]:
            print(f"    reason: {reason}")
        print(
            json.dumps(
                {"rates": rates, "cpu_us": cpu, "ratio": ratio, "dead_letters": len(letters)}
            )
        )
        if len(letters) != expected or with_reason != expected or len(origins) != len(bad):
            raise SystemExit("some malformed record did not reach the dead-letter topic")
    finally:
        kafka.stop()
        postgres.stop()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
