"""Build progress: a live line on a terminal, one line per document in CI logs."""

from __future__ import annotations

import sys
import time

import click


class Progress:
    def __init__(self, quiet: bool = False, stream=None):
        self.total = 0
        self.quiet = quiet
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.done = 0
        self.counts = {"built": 0, "up to date": 0, "failed": 0}
        self.started = time.perf_counter()

    def planned(self, total: int) -> None:
        self.total = total

    def __call__(self, document, status: str, message: str | None) -> None:
        self.done += 1
        self.counts[status] += 1
        if self.quiet:
            return
        if self.tty:
            bar = "#" * (24 * self.done // max(self.total, 1))
            click.echo(f"\r[{bar:<24}] {self.done}/{self.total} {status:<10} "
                       f"{document.relative_path[:60]:<60}", file=self.stream, nl=False)
            if self.done == self.total:
                click.echo("", file=self.stream)
        else:
            click.echo(f"{status:<10} {document.relative_path}", file=self.stream)

    def summary(self) -> str:
        elapsed = time.perf_counter() - self.started
        return (f"{self.counts['built']} built, {self.counts['up to date']} up to date, "
                f"{self.counts['failed']} failed in {elapsed:.1f} s")
