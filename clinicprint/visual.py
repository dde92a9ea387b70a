"""Page pictures from the real PDFs: proof thumbnails, the pages a reviewer approved
(approved-pages/, `pipeline.py proof --approve`) and the tests' visual baselines.

Comparison tolerance (documented in the README): pages are compared in greyscale at
BASELINE_SCALE; a pixel "differs" when its grey level moves by more than
PIXEL_THRESHOLD (of 255), and a page fails when more than MAX_CHANGED of its pixels
differ. That ignores anti-aliasing noise but catches a panel or a paragraph that moves
by a few points.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

BASELINE_SCALE = 1 / 3   # 24 dpi: small files, still shows a moved panel
PIXEL_THRESHOLD = 48
MAX_CHANGED = 0.004      # 0.4 % of a page's pixels


def page_images(pdf: Path, scale: float):
    """PIL images of every page, rendered by PDFium."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(pdf))
    try:
        return [page.render(scale=scale).to_pil().convert("RGB") for page in document]
    finally:
        document.close()


def png_bytes(image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


@dataclass(frozen=True)
class PageDifference:
    document: str
    page: int
    changed: float          # fraction of pixels that differ
    diff_image: Path | None
    reason: str = ""
    hint: str = ""          # what to do about it, for a developer's failure message

    def brief(self) -> str:
        """For one line per document: `page 2 (1.20% of pixels)`."""
        return f"page {self.page} ({self.reason or f'{self.changed:.2%} of pixels'})"

    def describe(self) -> str:
        if self.reason:
            hint = f"; {self.hint}" if self.hint else ""
            return f"{self.document} page {self.page}: {self.reason}{hint}"
        return (f"{self.document} page {self.page}: {self.changed:.2%} of pixels changed "
                f"(tolerance {MAX_CHANGED:.2%}); see {self.diff_image}")


def baseline_path(baselines: Path, relative_pdf: str, page: int) -> Path:
    return baselines / relative_pdf.replace(".pdf", f"-p{page}.png")


def compare_document(pdf: Path, relative: str, baselines: Path, diff_dir: Path,
                     approve_with: str = "`pipeline.py proof --approve`",
                     ) -> list[PageDifference]:
    """The pages of `pdf` that differ from their pictures in `baselines`; a picture of
    each difference goes to `diff_dir`. `approve_with`: the command that approves."""
    from PIL import Image, ImageChops

    problems = []
    pages = page_images(pdf, BASELINE_SCALE)
    for number, image in enumerate(pages, start=1):
        expected_path = baseline_path(baselines, relative, number)
        if not expected_path.is_file():
            problems.append(PageDifference(relative, number, 1.0, None, "not approved yet",
                                           f"no {expected_path}; approve with {approve_with}"))
            continue
        expected = Image.open(expected_path).convert("RGB")
        if expected.size != image.size:
            problems.append(PageDifference(relative, number, 1.0, None,
                                           f"page size changed from {expected.size} to "
                                           f"{image.size} pixels"))
            continue
        delta = ImageChops.difference(expected.convert("L"), image.convert("L"))
        changed = sum(delta.point(lambda v: 255 if v > PIXEL_THRESHOLD else 0)
                      .histogram()[255:]) / (image.width * image.height)
        if changed > MAX_CHANGED:
            target = baseline_path(diff_dir, relative, number)
            target.parent.mkdir(parents=True, exist_ok=True)
            _diff_picture(expected, image, delta).save(target)
            problems.append(PageDifference(relative, number, changed, target))
    extra = baseline_path(baselines, relative, len(pages) + 1)
    if extra.is_file():
        problems.append(PageDifference(relative, len(pages) + 1, 1.0, None,
                                       "page is gone (the baseline has it)"))
    return problems


def _diff_picture(expected, actual, delta):
    """Baseline, new render and the changed pixels in red, side by side."""
    from PIL import Image

    mask = delta.point(lambda v: 255 if v > PIXEL_THRESHOLD else 0)
    red = Image.new("RGB", actual.size, (220, 0, 0))
    marked = Image.composite(red, actual.convert("L").convert("RGB"), mask)
    picture = Image.new("RGB", (actual.width * 3 + 20, actual.height), "white")
    for index, image in enumerate((expected, actual, marked)):
        picture.paste(image, (index * (actual.width + 10), 0))
    return picture


def approve(pdfs: list[tuple[Path, str]], baselines: Path) -> int:
    """Make the pages of these PDFs the approved pictures; return how many pages."""
    from .output import write_atomic

    written = 0
    for pdf, relative in pdfs:
        stale = sorted(baselines.glob(relative.replace(".pdf", "-p*.png")))
        for old in stale:
            old.unlink()
        for number, image in enumerate(page_images(pdf, BASELINE_SCALE), start=1):
            write_atomic(baseline_path(baselines, relative, number),
                         png_bytes(image.convert("L")))  # compared in grey anyway
            written += 1
    return written
