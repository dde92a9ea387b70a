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
    parser.enable(["emphasis", "list", "replacements", "smartquotes", "escape", "newline"])
    # A line break inside a YAML paragraph is a space, not a newline character:
    # WeasyPrint sometimes keeps the words around a newline together and leaves
    # one word alone on the line before.
    parser.add_render_rule("softbreak", lambda *args: " ")
    return parser


def markdown_block(text: str) -> Markup:
    return Markup(_parser().render(text))  # noqa: S704 - parser escapes everything


def markdown_inline(text: str) -> Markup:
    return Markup(_parser().renderInline(text))  # noqa: S704


KEEP_TOGETHER_MAX = 20  # characters: longer pairs might not fit a narrow panel's line


def keep_last_words(text: str) -> str:
    """Join the last two words with a no-break space, so a heading that wraps
    never leaves one word alone on its last line (unless the pair is too long to
    be sure it fits on one line)."""
    words = text.split()
    if len(words) < 3 or len(" ".join(words[-2:])) > KEEP_TOGETHER_MAX:
        return text
    return " ".join(words[:-2] + [f"{words[-2]}\u00a0{words[-1]}"])
