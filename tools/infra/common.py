"""Paths, ports, process helpers and deadlines shared by the infrastructure scripts."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache"
RUN = ROOT / ".run"


class InfraError(RuntimeError):
    """Infrastructure could not be prepared or started; the message says what to do."""


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """True when something accepts connections on the port."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def wait_until(
    check: Callable[[], bool],
    *,
    timeout_s: float,
    what: str,
    log: Path | None = None,
    interval_s: float = 0.25,
) -> None:
    """Poll `check` until true; at the deadline raise InfraError naming `what` and the log."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval_s)
    hint = f"; see {log}" if log else ""
    tail = ""
    if log and log.exists():
        tail = "\n" + "\n".join(log.read_text(errors="replace").splitlines()[-15:])
    raise InfraError(f"{what} did not become ready within {timeout_s:.0f}s{hint}{tail}")


def pid_alive(pid: int) -> bool:
    """True when a process with that pid exists (and is not a zombie)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists():
        with contextlib.suppress(OSError, IndexError):
            return stat.read_text().split()[2] != "Z"
    return True


def read_pid(path: Path) -> int | None:
    """The pid in a pid file if that process still runs."""
    try:
        pid = int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if pid_alive(pid) else None


def terminate(pid: int, *, timeout_s: float = 20.0, group: bool = False) -> None:
    """SIGTERM a process (or its group), then SIGKILL it if it outlives the timeout."""
    kill = os.killpg if group else os.kill
    with contextlib.suppress(ProcessLookupError):
        kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and pid_alive(pid):
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.1)
    if pid_alive(pid):
        with contextlib.suppress(ProcessLookupError):
            kill(pid, signal.SIGKILL)


def run(
    cmd: list[str],
    *,
    what: str,
    cwd: Path | None = None,
    user: str | None = None,
    env: dict[str, str] | None = None,
    timeout_s: float = 600,
) -> str:
    """Run a command to completion; raise InfraError with its output if it fails."""
    if user and os.geteuid() == 0:
        cmd = ["runuser", "-u", user, "--", *cmd]
    result = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout_s, check=False
    )
    if result.returncode != 0:
        raise InfraError(f"{what} failed ({' '.join(cmd)}):\n{result.stdout}\n{result.stderr}")
    return result.stdout
