"""Walking the boxes of WeasyPrint's laid-out pages.

WeasyPrint has no public API for them: the gates, the image check and the stamp read
each page's `_page_box` and every box's `children` (the pinned version's layout
classes, unchanged for years). One walk here, so a change there is mended once.
"""

from __future__ import annotations

from typing import Iterator


def page_boxes(laid_out) -> Iterator[tuple[int, object, object]]:
    """(page number from 0, box, its parent box or None) for every box of every page,
    in document order."""
    for number, page in enumerate(laid_out.pages):
        for box, parent in _with_parents(page._page_box, None):
            yield number, box, parent


def _with_parents(box, parent):
    yield box, parent
    for child in getattr(box, "children", ()):
        yield from _with_parents(child, box)


def descendants(box) -> Iterator:
    """The box and every box inside it, in document order."""
    return (inner for inner, _ in _with_parents(box, None))
