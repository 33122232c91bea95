"""Keyboard input for the review loop: one key for a choice, a line for text.

In a terminal a choice is one key press (no Enter); with input from a pipe each answer is a
line, so scripts and tests can drive the same loop. The terminal leaves line mode before the
prompt is shown and keys typed ahead are kept, so a fast typist never loses a key.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from modqa_client.output import console

try:
    import termios
    import tty
except ImportError:  # pragma: no cover - Windows: click reads the console instead
    termios = None  # type: ignore[assignment]

ENTER = "\r"


class Keys:
    """Ask for a key among choices, or a line of text; Ctrl-D (end of input) raises EOFError."""

    def __init__(self, interactive: bool | None = None) -> None:
        self.interactive = sys.stdin.isatty() if interactive is None else interactive

    def key(self, prompt: str, choices: Sequence[str]) -> str:
        """One of `choices` (single characters; ENTER for the Enter key)."""
        while True:
            pressed = self._read_key(prompt + " ")
            shown = "Enter" if pressed == ENTER else pressed
            console.print(shown if pressed.isprintable() or pressed == ENTER else "")
            if pressed in choices or pressed.lower() in choices:
                return pressed if pressed in choices else pressed.lower()
            keys = "/".join("Enter" if c == ENTER else c for c in choices)
            console.print(f"[red]press one of {keys}[/]")

    def line(self, prompt: str) -> str:
        """A line of text (stripped); empty when the person just pressed Enter."""
        if self.interactive:
            return console.input(prompt + " ").strip()
        console.print(prompt + " ", end="")
        text = sys.stdin.readline()
        if not text:
            raise EOFError
        console.print(text.rstrip("\n"))
        return text.strip()

    def _read_key(self, prompt: str) -> str:
        if not self.interactive:
            console.print(prompt, end="")
            text = sys.stdin.readline()
            if not text:
                raise EOFError
            return text.strip()[:1] or ENTER
        if termios is None:  # pragma: no cover
            import click

            console.print(prompt, end="")
            return _normal(click.getchar())
        fd = sys.stdin.fileno()
        saved = termios.tcgetattr(fd)
        try:
            # one key at a time, no echo; Ctrl-C still interrupts. TCSANOW keeps what was typed.
            tty.setcbreak(fd, termios.TCSANOW)
            console.print(prompt, end="")
            byte = os.read(fd, 1)
        finally:
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        if not byte or byte == b"\x04":
            raise EOFError
        return _normal(byte.decode("utf-8", errors="replace"))


def _normal(pressed: str) -> str:
    return ENTER if pressed in ("\r", "\n") else pressed
