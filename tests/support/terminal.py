"""A command run in a pseudo-terminal, driven like a person at the keyboard (stdlib `pty`).

`expect` waits (with a deadline) until the screen output matches; `press` sends keys.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import termios
import time
from collections.abc import Sequence

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r")


class Terminal:
    """A process whose stdin, stdout and stderr are one pseudo-terminal."""

    def __init__(
        self, argv: Sequence[str], env: dict[str, str], cwd: str | None = None, columns: int = 200
    ) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
        os.set_blocking(self.master, False)
        full_env = {**env, "COLUMNS": str(columns), "LINES": "50", "TERM": "xterm"}
        self.process = subprocess.Popen(
            list(argv),
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=full_env,
            cwd=cwd,
            start_new_session=True,
            close_fds=True,
        )
        os.close(slave)
        self.output = ""
        self.seen = 0
        """Where the last `expect` stopped: the next one matches only what came after."""

    def _read(self, timeout_s: float) -> None:
        ready, _, _ = select.select([self.master], [], [], timeout_s)
        if not ready:
            return
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # the process closed the terminal
            return
        self.output += ANSI.sub("", chunk.decode("utf-8", errors="replace"))

    def expect(self, pattern: str, timeout_s: float = 30.0) -> re.Match[str]:
        """Wait until the output after the last match matches `pattern` (a regex)."""
        compiled = re.compile(pattern)
        deadline = time.monotonic() + timeout_s
        while True:
            found = compiled.search(self.output, self.seen)
            if found:
                self.seen = found.end()
                return found
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{pattern!r} not shown within {timeout_s}s; the screen after the last "
                    f"match:\n{self.output[self.seen :]}"
                )
            if self.process.poll() is not None:
                self._read(0.05)
                if not compiled.search(self.output, self.seen):
                    raise AssertionError(
                        f"the program exited ({self.process.returncode}) before {pattern!r}; "
                        f"it showed:\n{self.output[self.seen :]}"
                    )
                continue
            self._read(0.1)

    def press(self, keys: str) -> None:
        """Type keys (use "\\r" for Enter)."""
        os.write(self.master, keys.encode())

    def wait(self, timeout_s: float = 30.0) -> int:
        """The exit code, reading what is left on the screen."""
        deadline = time.monotonic() + timeout_s
        while self.process.poll() is None:
            if time.monotonic() > deadline:
                self.process.kill()
                raise AssertionError(f"still running after {timeout_s}s:\n{self.output[-2000:]}")
            self._read(0.1)
        self._read(0.05)
        return self.process.returncode

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)
        os.close(self.master)
