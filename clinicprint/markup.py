"""Markdown-light content (emphasis and lists) rendered with raw HTML disabled."""

from __future__ import annotations

from functools import lru_cache

from markupsafe import Markup


@lru_cache(maxsize=1)
def _parser():
    from markdown_it import MarkdownIt

    # The "zero" preset enables nothing; switch on only what patient text needs.
    # html stays off, so any tag typed into content is printed as text, never markup.
    parser = MarkdownIt("zero", {"typographer": True, "html": False})
    return parser.enable(["emphasis", "list", "replacements", "smartquotes", "escape"])


def markdown_block(text: str) -> Markup:
    return Markup(_parser().render(text))  # noqa: S704 - parser escapes everything


def markdown_inline(text: str) -> Markup:
    return Markup(_parser().renderInline(text))  # noqa: S704
