"""Lines broken before they were full, read from WeasyPrint's laid-out boxes.

A line of a paragraph that ends while the next line's first word would still have
fitted on it is a slip a typesetter never lets through: "Do not" / "drive," / "use
machines..." reads as three commands. WeasyPrint does this when a run that may not
wrap follows words bound to it, and a line read back from the PDF cannot tell why it
is short, so the test is made where the room is known: in the laid-out lines, their
block's width and the floats beside them.
"""

from __future__ import annotations

from dataclasses import dataclass

from .box_tree import descendants, page_boxes

BREAKING_SPACES = (" ", "\t", "\n")
FORCED_BREAK = ("pre", "pre-line", "pre-wrap", "break-spaces")  # a <br> is a pre-line box
NO_WRAP = ("nowrap", "pre")
TOLERANCE_PX = 2.0  # rounding in WeasyPrint's widths
ESTIMATE_MARGIN = 1.2  # a word's width is estimated from its box's letters on average


@dataclass(frozen=True)
class EarlyBreak:
    page: int          # from 0
    ends: str          # the line that ended early
    next_word: str     # the word that would have fitted after it
    room_px: float
    needed_px: float


def early_breaks(laid_out) -> list[EarlyBreak]:
    """Every line of a block, except its last, with room left at its end for the first
    word of the line after it (a word: up to a space where the line may break)."""
    found, floats, lines_of = [], {}, {}
    for number, box, parent in page_boxes(laid_out):
        if getattr(box, "is_floated", lambda: False)():
            floats.setdefault(number, []).append(box)
        elif type(box).__name__ == "LineBox" and parent is not None:
            lines_of.setdefault((number, id(parent)), (parent, []))[1].append(box)
    for (number, _), (parent, lines) in lines_of.items():
        for line, after in zip(lines, lines[1:]):
            broken = _early(line, after, parent, floats.get(number, ()))
            if broken:
                found.append(EarlyBreak(number, *broken))
    return found


def _early(line, after, parent, floats) -> tuple[str, str, float, float] | None:
    if _forced(line) or _hyphenated(line):
        return None
    word, needed = _first_word(after)
    if not word:
        return None
    left, right = _limits(line, parent, floats)
    used_left, used_right = _extent(line)
    room = (right - left) - (used_right - used_left)
    space = 0.3 * after.style["font_size"]
    if room > ESTIMATE_MARGIN * needed + space + TOLERANCE_PX:
        return _text(line), word, room, needed + space
    return None


def _inline_leaves(line):
    return [box for box in descendants(line)
            if box is not line and not getattr(box, "children", None)]


def _text(line) -> str:
    return "".join(getattr(box, "text", "") for box in _inline_leaves(line)).strip()


def _forced(line) -> bool:
    return any(box.style["white_space"] in FORCED_BREAK for box in descendants(line))


def _hyphenated(line) -> bool:
    return _text(line).endswith(("-", "\u2010", "\u00ad"))


def _first_word(line) -> tuple[str, float]:
    """The line's text up to its first break opportunity (a space outside a run that
    does not wrap) and its width, estimated from each text box's width per letter."""
    word, width = "", 0.0
    for box in _inline_leaves(line):
        text = getattr(box, "text", None)
        if text is None:  # a picture or a box: its own width, as a whole
            return "", 0.0
        no_wrap = box.style["white_space"] in NO_WRAP
        taken = text if no_wrap else text.split(" ")[0].split("\t")[0]
        word += taken
        width += box.width * len(taken) / max(len(text), 1)
        if len(taken) < len(text):
            break
    return word.strip(), width


def _extent(line) -> tuple[float, float]:
    leaves = [box for box in _inline_leaves(line) if getattr(box, "width", None) is not None]
    if not leaves:
        return line.position_x, line.position_x
    return (min(box.position_x for box in leaves),
            max(box.position_x + box.margin_width() for box in leaves))


def _limits(line, parent, floats) -> tuple[float, float]:
    """Left and right edges the line could use: its block's content box, narrowed by
    any float beside it."""
    left = parent.content_box_x()
    right = left + parent.width
    top, bottom = line.position_y, line.position_y + line.height
    for box in floats:
        if box.position_y >= bottom or box.position_y + box.margin_height() <= top:
            continue
        if box.position_x >= line.position_x:
            right = min(right, box.position_x)
        else:
            left = max(left, box.position_x + box.margin_width())
    return left, right
