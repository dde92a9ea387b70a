"""One error type that the CLI prints as a single clean line per problem."""

from __future__ import annotations

import click


class PipelineError(click.ClickException):
    """A problem the user can fix; Click prints it as `Error: ...` and exits 1."""


class ContentError(PipelineError):
    """Every problem found while validating content, reported at once."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class RenderError(PipelineError):
    """A document could not be rendered or failed a post-render check."""
