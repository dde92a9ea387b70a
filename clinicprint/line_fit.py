"""Lines that fit, kept whole: a mend for WeasyPrint's one-word lines.

Pango decides where a line wraps from glyph widths summed its own way and reports the
line's extents another way, and the two can differ by a pixel or two on a long line
(WeasyPrint #1051, Pango #404). When Pango keeps a text whole although its extents are
a little wider than the room, WeasyPrint 70's split_first_line takes it for a text
that cannot be split and keeps only its first word: the paragraph gets a line of one
word although the next words would have fitted ('ສຸວູຢິ' / 'ຢຸຕຸຄຸ ...' in a generated
Lao line of the language-assistance notice, and in Khmer, Devanagari and Gurmukhi).
The layout gate names such a line (TYPESET-EARLY-BREAK); this mends the cause: when a
wrapped line came back as one word, the text is laid out once more at the given width,
and if Pango kept more of it on its first line, split again at a width narrowed by
Pango's overshoot, so the line ends at the last break that really fits.

The same mismatch the other way round: Pango wraps a line at a break whose extents
measure a little wider than the room (a generated Thai line of the notice, 0.6 px past
its column), and WeasyPrint keeps it, sticking out past the column or page. Such a
line is split again at a width narrowed by its overshoot, so it ends at the break
before.
"""

from __future__ import annotations

import functools
import math

RETRIES = 3  # narrowing steps, each twice the last; one step is the rule


def install() -> None:
    """Replace split_first_line where WeasyPrint's layout calls it (once a process)."""
    from weasyprint.layout import inline, preferred
    from weasyprint.text import line_break

    original = line_break.split_first_line
    if getattr(original, "keeps_fitting_words", False):
        return
    mended = _mended(original, line_break)
    for module in (line_break, inline, preferred):
        module.split_first_line = mended


def _mended(original, line_break):
    @functools.wraps(original)
    def split_first_line(text, style, context, max_width, justification_spacing,
                         is_line_start=True, minimum=False):
        result = original(text, style, context, max_width, justification_spacing,
                          is_line_start, minimum)
        if minimum:
            return result
        if _one_word_of_more(result, text, max_width):
            overshoot = _overshoot(line_break, text, style, context, max_width,
                                   justification_spacing, result[1])
            keeps = lambda retry: retry[1] > result[1]  # noqa: E731 - more words kept
        elif _wider_than_room(result, text, max_width):
            overshoot = result[3] - max_width + 0.5
            keeps = lambda retry: True  # noqa: E731 - any break that fits
        else:
            return result
        narrower = max_width
        for _ in range(RETRIES):
            if overshoot <= 0:
                break
            narrower -= overshoot
            overshoot *= 2  # Pango's own sums may keep the same break a step or two
            retry = original(text, style, context, narrower, justification_spacing,
                             is_line_start, minimum)
            if keeps(retry) and retry[3] <= max_width:
                return retry
        return result

    split_first_line.keeps_fitting_words = True
    return split_first_line


def _one_word_of_more(result, text: str, max_width) -> bool:
    """A line wrapped (more text follows) holding no break opportunity at a space."""
    kept = _wrapped_line(result, text, max_width)
    return kept is not None and " " not in kept


def _wider_than_room(result, text: str, max_width) -> bool:
    """A wrapped line wider than its room that could have broken earlier, at a space."""
    kept = _wrapped_line(result, text, max_width)
    return kept is not None and result[3] > max_width and " " in kept


def _wrapped_line(result, text: str, max_width) -> str | None:
    """The text kept on a line that wrapped at a finite width (None if it did not)."""
    _, length, resume_index, _, _, _ = result
    if resume_index is None or max_width is None or math.isinf(max_width):
        return None
    return text.encode()[:length].decode("utf-8", "replace").strip()


def _overshoot(line_break, text: str, style, context, max_width, justification_spacing,
               kept: int) -> float:
    """How much wider than `max_width` Pango's own first line measures, when it holds
    more than the `kept` bytes WeasyPrint kept (0 when Pango wraps there too)."""
    layout = line_break.create_layout(text, style, context, max_width, justification_spacing)
    try:
        first_line, _ = layout.get_first_line()
        if first_line.length <= kept:
            return 0.0
        width, _ = line_break.line_size(first_line, style)
        return width - max_width + 0.5  # half a pixel: Pango's units round
    finally:
        layout.deactivate()
