"""A layout that overflows, written anyway for its editor to see (`build --no-gates`),
marked on every page so that it can never pass for a finished document."""

from __future__ import annotations

import io

MARK = "NOT FOR PRINT: this layout overflows (see the build's warnings)"


def mark_pages(pdf: bytes, words: str = MARK) -> bytes:
    """Every page with a red band across its top and a large diagonal mark."""
    import pikepdf

    from .weasyprint_import import import_weasyprint

    import_weasyprint()
    import weasyprint
    with pikepdf.open(io.BytesIO(pdf)) as document:
        sizes = [(float(page.mediabox[2]) - float(page.mediabox[0]),
                  float(page.mediabox[3]) - float(page.mediabox[1]))
                 for page in document.pages]
        overlay = pikepdf.open(io.BytesIO(
            weasyprint.HTML(string=_overlay_html(sizes, words)).write_pdf()))
        for page, mark in zip(document.pages, overlay.pages):
            page.add_overlay(mark)
        out = io.BytesIO()
        document.save(out, deterministic_id=True)
        overlay.close()
    return out.getvalue()


def _overlay_html(sizes: list[tuple[float, float]], words: str) -> str:
    pages = "".join(
        f'<section style="page: p{index}; width: {width}pt; height: {height}pt">'
        f'<p class="band">{words}</p><p class="big">NOT FOR PRINT</p></section>'
        for index, (width, height) in enumerate(sizes))
    rules = "".join(f"@page p{index} {{ size: {width}pt {height}pt; margin: 0 }} "
                    for index, (width, height) in enumerate(sizes))
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><style>"
            f"{rules} body {{ margin: 0; font-family: sans-serif }} "
            "section { position: relative; overflow: hidden; break-after: page } "
            ".band { margin: 0; padding: 4pt; background: #C00000; color: white; "
            "font-weight: bold; font-size: 11pt; text-align: center } "
            ".big { position: absolute; top: 45%; left: 0; right: 0; margin: 0; "
            "text-align: center; font-size: 60pt; font-weight: bold; color: #C00000; "
            "opacity: 0.35; transform: rotate(-30deg) }"
            f"</style></head><body>{pages}</body></html>")
