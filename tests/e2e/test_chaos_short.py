"""The short chaos run that `make test` includes (`make chaos` is the long one): the whole
system under SIGKILLs of every service, a broker restart, a PostgreSQL restart and a second
sampler joining and leaving; every invariant must hold."""

from __future__ import annotations

import subprocess
import sys

from tools.infra.common import ROOT


def test_nothing_is_lost_or_doubled_under_faults() -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "tools.chaos",
            "--decisions",
            "2000",
            "--rate",
            "150",
            "--kills",
            "4",
            "--broker-restarts",
            "1",
            "--postgres-restarts",
            "1",
            "--settle-seconds",
            "300",
            "--seed",
            "11",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    print(run.stdout[-4000:])
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "FAIL" not in run.stdout
    assert "invariants hold" in run.stdout
