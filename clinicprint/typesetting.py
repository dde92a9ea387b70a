"""What must stay whole on a line: phone numbers, email and web addresses, dates,
times and numbers with their units.

An address too long for a line of its own (a clinic's long web address in a narrow
panel) cannot stay whole: it may break only after a slash, an @ or a hyphen of its
own, never with a hyphen added and never when it would fit on a line of its own
(`allowed_break`, which the gate applies: it knows the column's width).

A reader who finds "(555) 010-" at the end of a line and "0199" on the next dials the
wrong number; "24" and "hours" on two lines read as two things. The same patterns
serve twice: render_html wraps every such run of the page's text in a span that
does not break (`keep_whole_html`), and the layout gate reads the finished PDF and
names any that was broken all the same (`broken_across`, rule TYPESET-KEEP-WHOLE),
whatever the template or the content did.

Patterns are the same in every language but two parts: month names (from the
language's Babel locale, for dates written with words) and the words of units that
follow a number ("hours", "horas"), listed per language in languages.yaml (`units:`).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from markupsafe import Markup

SPACE = r"[ \u00a0]"
# Symbols that are a unit in every language.
SYMBOL_UNITS = ("°F", "°C", "%")
KINDS = ("phone number", "email address", "web address", "date", "time",
         "number with its unit")
# Web pages reflow on a phone: an address there may wrap (styles/brand.css).
LINK_KINDS = ("email address", "web address")
TAG = re.compile(r"(<[^>]*>)")
# Short words stay with the next word, and a block's last word with the one before
# it, so no line holds one short word (the layout gate's TYPESET-SHORT-LINE): bound
# by no-break spaces (a span that does not wrap makes WeasyPrint break lines early).
# A PDF's subset font then maps both spaces to one glyph, so its text may read back
# with no-break spaces for spaces: the gates' readers take them as spaces. Vowel
# signs and tone marks are part of their letter's word (not counted in its length).
_MARKS = "".join(chr(c) for c in range(0x300, 0x2000)
                 if unicodedata.category(chr(c)) in ("Mn", "Mc"))
SHORT_WORD = re.compile(rf"(?<![\w\u00a0{_MARKS}])((?:\w[{_MARKS}]*){{1,2}}[.,;:]?) "
                        r"(?=[\w(¿¡])")
# ...and a word of up to three letters (the gate's short word) stays with a run kept
# whole after it, such as the phone number ending a notice line, which may not wrap.
BEFORE_RUN = re.compile(rf"(?<![\w\u00a0{_MARKS}])((?:\w[{_MARKS}]*){{1,3}}[.,;:]?) "
                        r'(?=<span class="whole)')
# A word bound to a run goes inside the run's span: WeasyPrint, finding no break
# opportunity before a span that does not wrap, breaks the line's earlier words one
# per line ("Do not / drive, / use machines...").
BOUND_TO_RUN = re.compile('([^ \t\r\n<>]+)\u00a0(<span class="whole(?:--link)?">'
                          '(?:<span class="whole">)?)')
LAST_WORD = re.compile(r"(?<=\S) (\S{1,6}\s*)$")
BLOCK_END = re.compile(r"</(?:p|li|dd|dt|figcaption|h[1-6]|td|th)>", re.IGNORECASE)
NO_TEXT_ELEMENTS = ("style", "script", "head", "title")


def _parts(month_names: tuple[str, ...], units: tuple[str, ...]) -> dict[str, str]:
    months = "|".join(re.escape(name) for name in sorted(month_names, key=len, reverse=True))
    number = r"\d+(?:[.,]\d+)?"
    words = "|".join(re.escape(unit) for unit in sorted(units, key=len, reverse=True))
    unit = "|".join(filter(None, [
        "|".join(re.escape(symbol) for symbol in SYMBOL_UNITS),
        rf"(?:{words})(?!\w)" if words else ""]))
    return {
        # A TTY label stays with its number: "(TTY: 711)".
        "phone number": r"(?:\(?TTY:?" + SPACE + r")?"
                        r"(?:(?<![\w-])(?:\+?1[ \u00a0.-])?(?:\(\d{3}\)" + SPACE
                        + r"?|\d{3}[.-])\d{3}[.-]\d{4}(?!\w)|(?<=TTY:" + SPACE + r")\d{3}\b)",
        "email address": r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+",
        "web address": r"(?:https?://|www\.)[^\s<>()]*[^\s<>().,;:!?'\"]"
                       r"|(?<![\w@.-])[\w-]+(?:\.[\w-]+)*\.(?:org|com|net|gov|edu)(?!\w)"
                       r"(?:/[^\s<>()]*[^\s<>().,;:!?'\"])?",
        "date": r"\d{4}-\d{2}-\d{2}(?!\d)" + (
            rf"|(?<!\w)(?:{months})\.?{SPACE}\d{{1,2}}(?:,{SPACE}\d{{4}})?(?!\d)"
            rf"|(?<!\d)\d{{1,2}}{SPACE}(?:de{SPACE})?(?:{months})\.?(?!\w)"
            rf"(?:{SPACE}(?:de{SPACE})?\d{{4}})?" if months else ""),
        "time": r"(?<![\d:])\d{1,2}:\d{2}(?:" + SPACE + r"?[AaPp]\.?" + SPACE
                + r"?[Mm]\.?(?!\w))?",
        "number with its unit": rf"(?<![\w.,])(?:{number}{SPACE}?[-–]{SPACE}?)?{number}"
                                rf"{SPACE}?(?:{unit})",
    }


@lru_cache(maxsize=16)
def pattern(babel_locale: str, units: tuple[str, ...]) -> re.Pattern:
    """One regular expression with a named group per kind of run kept whole."""
    from babel.dates import get_month_names

    months = tuple({name for width in ("wide", "abbreviated")
                    for name in get_month_names(width, locale=babel_locale).values()})
    parts = _parts(months, units)
    return re.compile("|".join(f"(?P<k{n}>{parts[kind]})" for n, kind in enumerate(KINDS)),
                      re.IGNORECASE)


def for_language(language) -> re.Pattern:
    return pattern(language.babel, tuple(getattr(language, "units", ())))


def kind_of(match: re.Match) -> str:
    return KINDS[int(match.lastgroup[1:])]


def keep_whole_html(html: str, language) -> str:
    """Each run that must stay whole, in the text of the page's body, in a span that
    does not break (class `whole`; `whole--link` for addresses)."""
    found = for_language(language)
    parts = TAG.split(html)
    skipping: str | None = None
    for index, part in enumerate(parts):
        if index % 2:  # a tag
            name = re.match(r"</?\s*([a-zA-Z0-9]+)", part)
            name = name[1].lower() if name else ""
            if skipping is None and name in NO_TEXT_ELEMENTS and not part.startswith("</"):
                skipping = name
            elif skipping == name and part.startswith("</"):
                skipping = None
        elif skipping is None and part.strip():
            block_end = index + 1 < len(parts) and BLOCK_END.match(parts[index + 1])
            parts[index] = _kept_together(part, found, bool(block_end))
    return "".join(parts)


def _kept_together(text: str, found: re.Pattern, block_end: bool) -> str:
    """The text with its short words bound and its runs kept whole (each in a span)."""
    text = SHORT_WORD.sub("\\1\u00a0", text)
    if block_end:
        text = LAST_WORD.sub("\u00a0\\1", text)
    text = BEFORE_RUN.sub("\\1\u00a0", found.sub(_span, text))
    return BOUND_TO_RUN.sub("\\2\\1\u00a0", text)


LINK_BREAKS = re.compile(r"(?<=[/@-])(?=[^/@-])")  # after a slash, an @ or a hyphen


def _span(match: re.Match) -> str:
    if kind_of(match) not in LINK_KINDS:
        return f'<span class="whole">{match[0]}</span>'
    # Pieces that never break, with a break opportunity between them only.
    pieces = [piece for piece in LINK_BREAKS.split(match[0]) if piece]
    inner = "<wbr>".join(f'<span class="whole">{piece}</span>' for piece in pieces)
    return f'<span class="whole--link">{inner}</span>'


def allowed_break(kind: str, first: str) -> bool:
    """A break inside a run that a long address may take: after its own slash, @ or
    hyphen (the gate allows it only for an address wider than its column)."""
    return kind in LINK_KINDS and first.rstrip()[-1:] in ("/", "@", "-", "\x02", "\u00ad")


def keep_whole(text: str, language) -> Markup:
    """Plain text, escaped, with its runs kept whole (for a template)."""
    return Markup(keep_whole_html(str(Markup.escape(text)), language))  # noqa: S704


def broken_across(first: str, second: str, language) -> list[tuple[str, str]]:
    """(kind, text) of each run kept whole that a line break splits, when `first`
    ends a line and `second` begins the next. A break at a hyphen (a number's own
    or a hyphenation's) or after a slash joins without a space."""
    found = for_language(language)
    first, second = first.rstrip(), second.lstrip()
    if not first or not second:
        return []
    joins = [(f"{first} {second}", len(first))]
    if first[-1] in "\x02\u00ad":
        # PDFium reads any hyphen ending a line as a soft one: an address broken at a
        # hyphen of its own ("orthopedic-" / "care") reads back the same way, so it is
        # tried with that hyphen first (an address's own hyphen is a break it allows).
        kept = first.rstrip("\x02\u00ad") + "-"
        joins.append((kept + second, len(kept)))
    if first[-1] in "-\u2010\u00ad\x02/@." or second[0] in "@./":
        joins.append((first.rstrip("\x02\u00ad") + second, len(first.rstrip("\x02\u00ad"))))
        if first[-1] in "\x02\u00ad-":
            joins.append((first.rstrip("\x02\u00ad-") + second,
                          len(first.rstrip("\x02\u00ad-"))))
    broken = []
    for text, boundary in joins:
        for match in found.finditer(text.replace("\x02", "-")):
            if match.start() < boundary <= match.end() - 1 and \
                    (kind_of(match), match[0]) not in broken:
                broken.append((kind_of(match), match[0]))
    return broken[:1]
