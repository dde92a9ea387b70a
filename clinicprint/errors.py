"""One error type that the CLI prints as a single clean line per problem."""

from __future__ import annotations

import click


class PipelineError(click.ClickException):
    """A problem the user can fix; Click prints it as `Error: ...` and exits 1."""


def one_line(message: str) -> str:
    """A value quoted in a message must not start a new line (it could pass for
    another message)."""
    return message.replace("\r", "\\r").replace("\n", "\\n")


class ContentError(PipelineError):
    """Every problem found while validating content, reported at once, one line each."""

    def __init__(self, problems: list[str]):
        self.problems = [one_line(problem) for problem in problems]
        super().__init__("\n".join(self.problems))


class RenderError(PipelineError):
    """A document could not be rendered or failed a post-render check: one problem, or
    every problem the check found (each panel that overflows, with its size)."""

    def __init__(self, message: str | list[str]):
        self.problems = [one_line(problem) for problem in
                         ([message] if isinstance(message, str) else message)]
        super().__init__("\n".join(self.problems))
