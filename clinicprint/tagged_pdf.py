"""Post-processing of WeasyPrint's tagged (PDF/UA-1) output with pikepdf.

WeasyPrint 70 tags the page flow well, but leaves marked content of the page
margins (running footer, page numbers) pointing at structure elements the root
never reaches, wraps inline elements in NonStruct, can put a Div between a list
and its items, and writes empty elements. This module repairs exactly that:

- marked content no structure element reaches becomes a pagination artifact;
- NonStruct wrappers are dissolved, a Div between L and LI is removed, a list
  item holds only Lbl and LBody, empty elements are dropped;
- a heading marks its text as one marked-content sequence (so checkers read it
  as one piece of text, and a heading never looks empty);
- link annotations say in words where they go (/Contents);
- a passage in another language than the document's (a line of the language-
  assistance notice: `<p lang="es-US">`) gets its /Lang on its structure element,
  which WeasyPrint does not write, so a screen reader switches voice for it; the
  element is found by its text, read per marked-content sequence with PDFium;
- the ParentTree is rebuilt from the repaired tree.
"""

from __future__ import annotations

import ctypes
import io
import unicodedata
from collections import Counter, defaultdict
from html.parser import HTMLParser

import pikepdf
from pikepdf import Array, Dictionary, Name

HEADINGS = {f"/H{level}" for level in range(1, 7)} | {"/H"}
WRAPPERS = {"/NonStruct"}          # dissolved wherever they are
LIST_WRAPPERS = {"/Div", "/Span", "/NonStruct", "/Part", "/Sect"}  # dissolved inside /L
PAGINATION = Dictionary(Type=Name("/Pagination"))


def repair(data: bytes, passages: tuple[tuple[str, str], ...] = ()) -> bytes:
    """The PDF with its structure tree repaired; byte-for-byte reproducible.
    `passages`: (language tag, text) of each passage in another language than the
    document's (`passages_in_other_languages`)."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        tree = pdf.Root.get("/StructTreeRoot")
        if tree is None:
            return data
        pages = {page.obj.objgen: page for page in pdf.pages}
        if passages:
            _mark_languages(tree, pdf, _marked_texts(data), passages)
        for kid in _kids(tree):
            _tidy(kid)
        _set_kids(tree, [kid for kid in _kids(tree) if not _is_empty(kid)])
        for element in _elements(tree):
            if str(element.get("/S")) in HEADINGS:
                _join_heading(pdf, element, pages)
        reached = _reached(tree)
        for page in pdf.pages:
            _artifact_orphans(pdf, page, reached)
        _rebuild_parent_tree(pdf, tree)
        _describe_links(pdf)
        out = io.BytesIO()
        pdf.save(out, deterministic_id=True)
        return out.getvalue()


# --- the structure tree ----------------------------------------------------

def _is_element(node) -> bool:
    return isinstance(node, Dictionary) and "/S" in node


def _kids(node) -> list:
    kids = node.get("/K")
    if kids is None:
        return []
    return list(kids) if isinstance(kids, Array) else [kids]


def _set_kids(node, kids: list) -> None:
    if not kids:
        if "/K" in node:
            del node["/K"]
    else:
        node.K = kids[0] if len(kids) == 1 else Array(kids)


def _elements(node):
    for kid in _kids(node):
        if _is_element(kid):
            yield kid
            yield from _elements(kid)


def _content_item(kid, owner) -> object:
    """An MCID moved to another element keeps its page: write it as an MCR."""
    if isinstance(kid, int) and "/Pg" in owner:
        return Dictionary(Type=Name("/MCR"), Pg=owner.Pg, MCID=kid)
    return kid


def _tidy(element) -> None:
    """Dissolve wrappers, fix list structure and drop empty elements, bottom up."""
    for kid in _kids(element):
        if _is_element(kid):
            _tidy(kid)
    role = str(element.S)
    dissolve = WRAPPERS | (LIST_WRAPPERS if role == "/L" else set())
    kids = []
    for kid in _kids(element):
        if _is_element(kid) and _is_empty(kid):
            continue
        if _is_element(kid) and str(kid.S) in dissolve:
            for inner in _kids(kid):
                if _is_element(inner):
                    inner.P = element
                kids.append(_content_item(inner, kid))
        else:
            kids.append(kid)
    if role == "/L":
        kids = _list_items(element, kids)
    elif role == "/LI":
        kids = _item_parts(element, kids)
    _set_kids(element, kids)


def _is_empty(element) -> bool:
    return not _kids(element) and "/Alt" not in element


def _wrap(parent, role: str, kids: list) -> Dictionary:
    wrapper = Dictionary(Type=Name("/StructElem"), S=Name(role), P=parent)
    if "/Pg" in parent:
        wrapper.Pg = parent.Pg
    for kid in kids:
        if _is_element(kid):
            kid.P = wrapper
    _set_kids(wrapper, kids)
    return wrapper


def _list_items(element, kids: list) -> list:
    """An L holds LI (and Caption): anything else becomes a list item of its own."""
    fixed = []
    for kid in kids:
        if _is_element(kid) and str(kid.S) in ("/LI", "/Caption"):
            fixed.append(kid)
        else:
            item = _wrap(element, "/LI", [])
            _set_kids(item, [_adopt(_wrap(item, "/LBody", [kid]), kid)])
            fixed.append(item)
    return fixed


def _adopt(wrapper, kid):
    if _is_element(kid):
        kid.P = wrapper
    return wrapper


def _item_parts(element, kids: list) -> list:
    """An LI holds Lbl and LBody: loose content goes into one LBody."""
    parts, loose = [], []
    for kid in kids:
        if _is_element(kid) and str(kid.S) in ("/Lbl", "/LBody"):
            parts.append(kid)
        else:
            loose.append(kid)
    if loose:
        parts.append(_wrap(element, "/LBody", loose))
    return parts


# --- headings --------------------------------------------------------------

def _marked_items(element, deep: bool = True) -> list[tuple[object, int]]:
    """(page, MCID) of every content item under an element, in order; with
    deep=False only the element's own items, not those of its child elements."""
    found = []
    for kid in _kids(element):
        if isinstance(kid, int):
            found.append((element.get("/Pg"), int(kid)))
        elif isinstance(kid, Dictionary) and kid.get("/Type") == Name("/MCR"):
            found.append((kid.get("/Pg", element.get("/Pg")), int(kid.MCID)))
        elif deep and _is_element(kid):
            found += _marked_items(kid)
    return found


def _join_heading(pdf, heading, pages: dict) -> None:
    """Make a heading one marked-content sequence, marked by the heading itself.

    Lines of a heading are separate sequences one after the other in the page's
    content; joining them (when nothing else is marked between them) gives the
    heading a single MCID, as a screen reader and a checker expect."""
    items = _marked_items(heading)
    if not items or any(item[0] is None for item in items):
        return
    page_ref = items[0][0]
    if any(page.objgen != page_ref.objgen for page, _ in items):
        return  # a heading across pages: leave it as it is
    mcids = [mcid for _, mcid in items]
    page = pages[page_ref.objgen]
    if len(mcids) > 1 and not _join_sequences(pdf, page, mcids):
        return
    heading.Pg = page_ref
    heading.K = mcids[0]


def _join_sequences(pdf, page, mcids: list[int]) -> bool:
    instructions = list(pikepdf.parse_content_stream(page))
    starts = {_mcid(ins): index for index, ins in enumerate(instructions)
              if _mcid(ins) is not None}
    if any(mcid not in starts for mcid in mcids):
        return False
    ends = {}
    for mcid in mcids:
        end = _matching_end(instructions, starts[mcid])
        if end is None:
            return False
        ends[mcid] = end
    drop = set()
    for first, second in zip(mcids, mcids[1:]):
        between = instructions[ends[first] + 1:starts[second]]
        if starts[second] < ends[first] or any(
                str(ins.operator) in ("BDC", "BMC", "EMC") for ins in between):
            return False
        drop |= {ends[first], starts[second]}
    kept = [ins for index, ins in enumerate(instructions) if index not in drop]
    page.obj.Contents = pdf.make_stream(pikepdf.unparse_content_stream(kept))
    return True


def _mcid(instruction) -> int | None:
    if str(instruction.operator) != "BDC":
        return None
    properties = instruction.operands[1]
    if isinstance(properties, Dictionary) and "/MCID" in properties:
        return int(properties.MCID)
    return None


def _matching_end(instructions: list, start: int) -> int | None:
    depth = 0
    for index in range(start, len(instructions)):
        operator = str(instructions[index].operator)
        if operator in ("BDC", "BMC"):
            depth += 1
        elif operator == "EMC":
            depth -= 1
            if depth == 0:
                return index
    return None


# --- artifacts -------------------------------------------------------------

def _reached(tree) -> set[tuple[tuple[int, int], int]]:
    """(page object id, MCID) of every content item the structure root reaches."""
    return {(page.objgen, mcid) for element in _elements(tree)
            for page, mcid in _direct_items(element) if page is not None}


def _direct_items(element) -> list:
    return _marked_items(element, deep=False)


def _artifact_orphans(pdf, page, reached: set) -> None:
    """Marked content no element reaches is page furniture (WeasyPrint's margin
    boxes: running footer, page numbers): mark it as a pagination artifact."""
    instructions = list(pikepdf.parse_content_stream(page))
    changed = False
    for index, ins in enumerate(instructions):
        mcid = _mcid(ins)
        if mcid is not None and (page.objgen, mcid) not in reached:
            instructions[index] = pikepdf.ContentStreamInstruction(
                [Name("/Artifact"), PAGINATION], pikepdf.Operator("BDC"))
            changed = True
    if changed:
        page.obj.Contents = pdf.make_stream(pikepdf.unparse_content_stream(instructions))


# --- parent tree and links -------------------------------------------------

def _rebuild_parent_tree(pdf, tree) -> None:
    """Map each page's MCIDs and each annotation back to its element, from the tree."""
    by_page: dict[int, dict[int, object]] = defaultdict(dict)
    objects: dict[int, object] = {}
    keys = {page.obj.objgen: int(page.obj.get("/StructParents", -1)) for page in pdf.pages}
    for element in _elements(tree):
        for page, mcid in _direct_items(element):
            if page is not None and keys.get(page.objgen, -1) >= 0:
                by_page[keys[page.objgen]][mcid] = element
        for kid in _kids(element):
            if isinstance(kid, Dictionary) and kid.get("/Type") == Name("/OBJR"):
                key = kid.Obj.get("/StructParent")
                if key is not None:
                    objects[int(key)] = element
    nums = []
    for key in sorted(set(by_page) | set(objects)):
        if key in by_page:
            mcids = by_page[key]
            nums += [key, Array([mcids.get(n, None) for n in range(max(mcids) + 1)])]
        else:
            nums += [key, objects[key]]
    tree.ParentTree = pdf.make_indirect(Dictionary(Nums=Array(nums)))
    tree.ParentTreeNextKey = max([*by_page, *objects, *keys.values(), -1]) + 1


def describe_link(uri: str) -> str:
    """Words for a link's /Contents, read out by screen readers."""
    if uri.startswith("tel:"):
        return f"Call {uri[4:]}"
    if uri.startswith("mailto:"):
        return f"Send an email to {uri[7:]}"
    return f"Open the web page {uri.split('://', 1)[-1]}"


def _describe_links(pdf) -> None:
    for page in pdf.pages:
        for annotation in page.obj.get("/Annots", []):
            action = annotation.get("/A")
            if annotation.get("/Subtype") == Name("/Link") and action is not None \
                    and "/URI" in action:
                annotation.Contents = pikepdf.String(describe_link(str(action.URI)))


# --- passages in other languages ---------------------------------------------

class _LangPassages(HTMLParser):
    """(lang, text) of each element with a lang of its own, the html element's aside."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[tuple[str, str | None]] = []   # (tag, lang or None)
        self.texts: list[list[str]] = []                # text of each open lang element
        self.found: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs) -> None:
        lang = dict(attrs).get("lang") if tag != "html" else None
        if tag in ("br", "img", "meta", "link", "input", "wbr", "hr"):
            return
        self.open.append((tag, lang))
        if lang:
            self.texts.append([])

    def handle_endtag(self, tag) -> None:
        while self.open:
            opened, lang = self.open.pop()
            if lang:
                text = "".join(self.texts.pop())
                self.found.append((lang, text))
                if self.texts:
                    self.texts[-1].append(text)
            if opened == tag:
                break

    def handle_data(self, data) -> None:
        if self.texts:
            self.texts[-1].append(data)


def passages_in_other_languages(html: str, language_tag: str) -> tuple[tuple[str, str], ...]:
    """(lang, text) of every element of the page in another language than the
    document's own (`language_tag`)."""
    parser = _LangPassages()
    parser.feed(html)
    parser.close()
    own = language_tag.lower().split("-")[0]
    return tuple((lang, text) for lang, text in parser.found
                 if lang.lower().split("-")[0] != own and text.strip())


def _letters(text: str) -> Counter:
    """The text's characters, compatibility forms folded, without spaces: what a
    passage and the marked content drawing it share whatever order PDFium reads the
    glyphs of a right-to-left or reordering script in."""
    return Counter(char for char in unicodedata.normalize("NFKC", text)
                   if not char.isspace() and unicodedata.category(char)[0] != "C")


def _same_text(printed: Counter, passage: Counter) -> bool:
    shared = sum((printed & passage).values())
    return shared >= 0.9 * max(sum(printed.values()), sum(passage.values()), 1)


def _marked_texts(data: bytes) -> dict[tuple[int, int], str]:
    """(page index, MCID) -> the text drawn in that marked-content sequence."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    texts: dict[tuple[int, int], str] = defaultdict(str)
    document = pdfium.PdfDocument(data)
    try:
        for index, page in enumerate(document):
            textpage = page.get_textpage()
            for obj in page.get_objects():
                if obj.type != raw.FPDF_PAGEOBJ_TEXT:
                    continue
                mcid = raw.FPDFPageObj_GetMarkedContentID(obj.raw)
                size = raw.FPDFTextObj_GetText(obj.raw, textpage.raw, None, 0)
                if mcid < 0 or size <= 2:
                    continue
                buffer = (ctypes.c_ushort * (size // 2))()
                raw.FPDFTextObj_GetText(obj.raw, textpage.raw, buffer, size)
                texts[(index, mcid)] += bytes(buffer).decode("utf-16-le").rstrip("\x00")
    finally:
        document.close()
    return texts


def _mark_languages(tree, pdf, texts: dict, passages) -> None:
    """Give each passage's structure element its /Lang: the element whose marked
    content draws the passage's text (a parent holding several passages draws more
    than any one of them, so it is not taken for one); a passage split by a page
    break, which WeasyPrint tags as one element a page, on each of its parts."""
    index_of = {page.obj.objgen: number for number, page in enumerate(pdf.pages)}
    wanted = [(lang, _letters(text)) for lang, text in passages]
    # Indexed by position, not objgen: a direct structure element has none of its own.
    elements = list(_elements(tree))
    printed = [_letters("".join(
        texts.get((index_of.get(page.objgen), mcid), "")
        for page, mcid in _marked_items(element) if page is not None))
        for element in elements]
    found = set()
    for element, letters in zip(elements, printed):
        lang = next((lang for lang, passage in wanted if letters
                     and _same_text(letters, passage)), None)
        if lang:
            element.Lang = pikepdf.String(lang)
            found.add(lang)
    blocks = [(element, letters) for element, letters in zip(elements, printed)
              if letters and "/Lang" not in element and _is_leaf_block(element)]
    for lang, passage in wanted:
        if lang not in found:
            for part in _parts_of(passage, blocks):
                part.Lang = pikepdf.String(lang)


INLINE_ROLES = ("/Span", "/Link", "/Lbl")


def _is_leaf_block(element) -> bool:
    return str(element.get("/S")) not in INLINE_ROLES and not any(
        _is_element(kid) and str(kid.get("/S")) not in INLINE_ROLES for kid in _kids(element))


def _parts_of(passage: Counter, blocks: list) -> list:
    """The run of consecutive blocks (in reading order) that together draw the
    passage, each drawing nothing else; [] if there is none."""
    for start in range(len(blocks)):
        run, letters = [], Counter()
        for block, drawn in blocks[start:]:
            letters += drawn
            run.append(block)
            if sum((letters & passage).values()) < 0.9 * sum(letters.values()):
                break  # draws more than the passage
            if len(run) > 1 and _same_text(letters, passage):
                return run
    return []
