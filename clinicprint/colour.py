"""Colour for press: every #RRGGBB in stylesheets and SVG artwork becomes CMYK.

Brand colours become the brand's own CMYK values (what the print shop was
given); any other colour gets a plain conversion, with neutral greys on the
black plate alone so text stays sharp.
"""

from __future__ import annotations

import re

HEX = re.compile(r"#([0-9a-fA-F]{6}|[0-9a-fA-F]{3})\b")


def _expand(hex_digits: str) -> str:
    digits = hex_digits if len(hex_digits) == 6 else "".join(c * 2 for c in hex_digits)
    return f"#{digits.upper()}"


def rgb_to_cmyk(colour: str) -> tuple[float, float, float, float]:
    """Fractions 0-1 of C, M, Y, K for a #RRGGBB colour."""
    red, green, blue = (int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5))
    black = 1 - max(red, green, blue)
    if black >= 1:
        return (0.0, 0.0, 0.0, 1.0)
    if red == green == blue:
        return (0.0, 0.0, 0.0, black)
    return tuple((1 - channel - black) / (1 - black) for channel in (red, green, blue)) + (black,)


def device_cmyk(cmyk: tuple[float, float, float, float]) -> str:
    return "device-cmyk({:.3f} {:.3f} {:.3f} {:.3f})".format(*cmyk)


def brand_cmyk(colours: dict[str, str], cmyk_percent: dict[str, tuple]) -> dict[str, tuple]:
    """#RRGGBB -> CMYK fractions for every brand colour the brand gives in CMYK."""
    return {_expand(colours[name][1:]): tuple(part / 100 for part in value)
            for name, value in cmyk_percent.items() if name in colours}


def to_cmyk(text: str, known: dict[str, tuple]) -> str:
    """Rewrite every hex colour in CSS or SVG text as device-cmyk()."""

    def replace(match: re.Match) -> str:
        colour = _expand(match[1])
        return device_cmyk(known.get(colour) or rgb_to_cmyk(colour))

    return HEX.sub(replace, text)
