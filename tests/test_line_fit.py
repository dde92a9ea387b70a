"""clinicprint/line_fit.py mends WeasyPrint's one-word lines (a line Pango keeps whole
measures a pixel or two wider than its room, and WeasyPrint then keeps only its first
word). Planted: generated Lao paragraphs, each ending in a phone number that may not
break, are laid out at widths across a range; unmended WeasyPrint breaks some of their
lines after one word although the next would have fitted (the layout gate's
TYPESET-EARLY-BREAK reads them from the laid-out lines), the mended one breaks none.
If the unmended count ever comes back 0, a newer Pango or WeasyPrint no longer has
the fault: line_fit.py can go."""

from __future__ import annotations

import random

import pytest

from clinicprint.line_breaks import early_breaks
from clinicprint.weasyprint_import import import_weasyprint

LAO_LETTERS = "ກຂຄງຈຊຍດຕຖທນບປຜຝພຟມຢຣລວສຫອຮ"
LAO_VOWEL_SIGNS = "\u0eb2\u0eb4\u0eb5\u0eb8\u0eb9"
WIDTHS_PX = range(300, 700, 7)


def _paragraphs(count: int = 8, words: int = 30) -> list[str]:
    rng = random.Random(1)

    def word() -> str:
        return "".join(rng.choice(LAO_LETTERS) + rng.choice(LAO_VOWEL_SIGNS)
                       for _ in range(rng.randint(1, 4)))

    return [" ".join(word() for _ in range(words)) for _ in range(count)]


def _early_breaks_across_widths(split_first_line) -> int:
    from weasyprint import HTML
    from weasyprint.layout import inline, preferred
    from weasyprint.text import line_break

    body = "".join(f'<p>{text} <span style="white-space: nowrap">(555) 010-0100</span></p>'
                   for text in _paragraphs())
    with pytest.MonkeyPatch.context() as patch:
        for module in (line_break, inline, preferred):
            patch.setattr(module, "split_first_line", split_first_line)
        found = 0
        for width in WIDTHS_PX:
            style = (f"@page {{ size: 12in 40in; margin: 0 }} p {{ width: {width}px; "
                     "font: 16px 'Noto Sans Lao'; margin: 0 0 8px }}")
            laid_out = HTML(string=f'<style>{style}</style><body lang="lo">{body}</body>').render()
            found += len(early_breaks(laid_out))
    return found


@pytest.fixture(scope="module")
def split_functions():
    import_weasyprint()
    from weasyprint.text import line_break

    mended = line_break.split_first_line
    assert getattr(mended, "keeps_fitting_words", False), "line_fit is not installed"
    return mended.__wrapped__, mended


def test_unmended_weasyprint_breaks_lines_after_one_word(split_functions) -> None:
    original, _ = split_functions
    assert _early_breaks_across_widths(original) > 0


def test_mended_weasyprint_keeps_the_words_that_fit(split_functions) -> None:
    _, mended = split_functions
    assert _early_breaks_across_widths(mended) == 0
