"""Keyboard input for the review loop: one key for a choice, a line for text.

In a terminal a choice is one key press (no Enter); with input from a pipe each answer is a
line, so scripts and tests can drive the same loop.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from modqa_client.output import console

ENTER = "\r"


class Keys:
    """Ask for a key among choices, or a line of text; Ctrl-D (end of input) raises EOFError."""

    def __init__(self, interactive: bool | None = None) -> None:
        self.interactive = sys.stdin.isatty() if interactive is None else interactive

    def key(self, prompt: str, choices: Sequence[str]) -> str:
        """One of `choices` (single characters; ENTER for the Enter key)."""
        while True:
            console.print(prompt + " ", end="")
            pressed = self._read_key()
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

    def _read_key(self) -> str:
        if self.interactive:
            pressed = click.getchar()
            return ENTER if pressed in ("\r", "\n") else pressed
        text = sys.stdin.readline()
        if not text:
            raise EOFError
        return text.strip()[:1] or ENTER
