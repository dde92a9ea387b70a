"""One PDF for double-sided printing, written page by page as documents arrive.

A day's list can hold thousands of sheets. Holding them all (or a pypdf writer with
all their pages) costs memory in proportion to the day; this writer copies each
document's objects straight to the output file and keeps only their offsets, so
memory stays flat however long the list is.
"""

from __future__ import annotations

import io
import secrets
from typing import BinaryIO

from pypdf import PdfReader
from pypdf.generic import (ArrayObject, DictionaryObject, IndirectObject, NameObject,
                           PdfObject, StreamObject)


class DuplexWriter:
    """Appends PDFs back to back; each starts on the front of a new sheet of paper."""

    def __init__(self, stream: BinaryIO, title: str = "Discharge instructions"):
        self.stream = stream
        self.title = title
        self.offsets: list[int] = [0, 0]  # object 1 is the page tree, written last
        self.kids: list[int] = []
        stream.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")

    def add(self, pdf: bytes, pad_to_even: bool = True) -> None:
        reader = PdfReader(io.BytesIO(pdf))
        numbers: dict[int, int] = {}  # source object number -> ours, per document
        box = None
        for page in reader.pages:
            box = page.mediabox
            self.kids.append(self._copy_page(page, numbers))
        if pad_to_even and len(reader.pages) % 2 and box is not None:
            self.kids.append(self._blank_page(box))

    def close(self) -> None:
        """Write the page tree, catalogue, cross-reference table and trailer."""
        kids = " ".join(f"{number} 0 R" for number in self.kids)
        self._write_at(1, f"<< /Type /Pages /Kids [{kids}] /Count {len(self.kids)} >>")
        catalog = self._write(b"<< /Type /Catalog /Pages 1 0 R >>")
        info = self._write(f"<< /Title ({self.title}) /Producer (clinicprint) >>".encode())
        start = self.stream.tell()
        lines = [f"xref\n0 {len(self.offsets)}\n", "0000000000 65535 f \n"]
        lines += [f"{offset:010d} 00000 n \n" for offset in self.offsets[1:]]
        # The file id is random: it must say nothing about the patients inside.
        ident = secrets.token_hex(16)
        lines.append(f"trailer\n<< /Size {len(self.offsets)} /Root {catalog} 0 R /Info "
                     f"{info} 0 R /ID [<{ident}> <{ident}>] >>\nstartxref\n{start}\n%%EOF\n")
        self.stream.write("".join(lines).encode("ascii"))

    def _copy_page(self, page, numbers: dict[int, int]) -> int:
        pending: list[tuple[int, PdfObject]] = []
        number = self._number_for(page.indirect_reference, numbers, pending)
        while pending:
            ours, source = pending.pop()
            copy = self._remap(source, numbers, pending)
            if ours == number:
                copy[NameObject("/Parent")] = IndirectObject(1, 0, None)
            self._write_object(ours, copy)
        return number

    def _number_for(self, reference: IndirectObject, numbers: dict[int, int],
                    pending: list) -> int:
        if reference.idnum not in numbers:
            self.offsets.append(0)
            numbers[reference.idnum] = len(self.offsets) - 1
            pending.append((numbers[reference.idnum], reference.get_object()))
        return numbers[reference.idnum]

    def _remap(self, value, numbers: dict[int, int], pending: list):
        """A copy of `value` whose references point at our object numbers."""
        if isinstance(value, IndirectObject):
            return IndirectObject(self._number_for(value, numbers, pending), 0, None)
        if isinstance(value, StreamObject):
            copy = type(value)()
            copy._data = value._data
            for key, item in value.items():
                copy[key] = self._remap(item, numbers, pending)
            return copy
        if isinstance(value, DictionaryObject):
            copy = DictionaryObject()
            for key, item in value.items():
                if key != "/Parent":  # pages get ours; other parents are not copied
                    copy[key] = self._remap(item, numbers, pending)
            return copy
        if isinstance(value, ArrayObject):
            return ArrayObject(self._remap(item, numbers, pending) for item in value)
        return value

    def _blank_page(self, box) -> int:
        mediabox = " ".join(f"{float(v):g}" for v in box)
        return self._write(f"<< /Type /Page /Parent 1 0 R /MediaBox [{mediabox}] "
                           "/Resources << >> >>".encode())

    def _write_object(self, number: int, value: PdfObject) -> None:
        self.offsets[number] = self.stream.tell()
        self.stream.write(f"{number} 0 obj\n".encode())
        value.write_to_stream(self.stream)
        self.stream.write(b"\nendobj\n")

    def _write(self, body: bytes) -> int:
        self.offsets.append(0)
        number = len(self.offsets) - 1
        self._write_at(number, body)
        return number

    def _write_at(self, number: int, body: bytes | str) -> None:
        self.offsets[number] = self.stream.tell()
        data = body.encode() if isinstance(body, str) else body
        self.stream.write(f"{number} 0 obj\n".encode() + data + b"\nendobj\n")


def join_for_duplex(parts: list[list[bytes]]) -> bytes:
    """Each patient's documents back to back, in memory (one or a few patients)."""
    out = io.BytesIO()
    writer = DuplexWriter(out)
    for patient_parts in parts:
        for pdf in patient_parts:
            writer.add(pdf)
    writer.close()
    return out.getvalue()
