"""The language-assistance notice holds any number of languages (issue 24): fifteen
GENERATED lines in fifteen scripts, each in its Debian Noto font (or the body fonts
for the Latin line), replace language-assistance.yaml in a copy of the generated
library, and one brochure and one discharge sheet are built through the real command
(`pipeline.py build`) in every profile their kind is made in, English only.

For each document that builds: every line's words are in the PDF (PDFium) and every
line in the web page, in the YAML's order; each line's letters print in the font its
`family:` names (PDFium says which font draws each character); and in the tagged PDF
the fifteen lines are structure elements in the YAML's order, each with its /Lang
(WeasyPrint writes only the document's: clinicprint/tagged_pdf.py adds each line's).
Only the screen profile writes a structure tree (PDF/UA-1); the order of the lines is
checked on the text of every PDF too.

The generated lines are not words of any language: random syllables of each script's
own letters, about as long as the English line (CJK half as many characters, as a
real line is), with {phone} and {tty}. The shipped file keeps only published lines.

Where the document has no room for every line (a tri-fold on paper: fifteen lines at
body size need about three times the free room of its two inside panels; the
large-print sheet: a fifth page), every line goes on a sheet of its own after the
handout, which its page limit does not count, and the panel keeps as many lines as
fit: test_a_notice_too_long_goes_on_its_own_sheet. The build's gates (panel fill,
folds, GWG preflight on press) hold for those pages too, or nothing would be built.
Lines WeasyPrint used to break after one word although the rest fitted (Lao, Khmer,
Devanagari, Gurmukhi: TYPESET-EARLY-BREAK) are mended by clinicprint/line_fit.py.
"""

from __future__ import annotations

import ctypes
import random
import re
import shutil
import unicodedata
from pathlib import Path

import pytest
import yaml

from conftest import (LIBRARY, PROJECT_FILES, assert_process_failed, run_pipeline,
                      with_languages)
from pdfread import page_texts, sample_mark_by_third, text_of_file

BROCHURE, DISCHARGE = LIBRARY.brochures[0], LIBRARY.discharges[0]
PROFILES = {BROCHURE: ("press", "office", "office-a4", "screen", "web"),
            DISCHARGE: ("office", "office-a4", "screen", "web")}
TAGGED = ("screen",)  # the profiles whose PDFs carry a structure tree

# script: (BCP 47 tag, Noto family ("" = the body fonts), direction, letters, vowels or
# vowel signs, kind). "alphabet" and "abugida": a syllable is a letter and a vowel (a
# vowel sign drawn after or over it, never one reordered before it, so the text reads
# back as written); "syllabary": a character a syllable; "cjk": no spaces.
SCRIPTS = {
    "Latin": ("pt-BR", "", "", "bcdfgjlmnprstvz", "aeiouáéíóúãõç", "alphabet"),
    "Cyrillic": ("ru-RU", "Noto Sans", "", "бвгджзклмнпрстфхцчшщ", "аеиоуыэюя", "alphabet"),
    "Arabic": ("ar-SA", "Noto Sans Arabic", "rtl", "بتثجحخدذرزسشصضطظعغفقكمنه", "اوي",
               "alphabet"),
    "Hebrew": ("he-IL", "Noto Sans Hebrew", "rtl", "בגדהזחטכלמנסעפצקרשת", "וי", "alphabet"),
    "Devanagari": ("hi-IN", "Noto Sans Devanagari", "", "कखगघचछजझटठडढतथदधनपफबभमयरलवशसह",
                   "\u093e\u0940\u0941\u0942\u0947\u094b", "abugida"),
    "Bengali": ("bn-BD", "Noto Sans Bengali", "", "কখগঘচছজঝটঠডঢতথদধনপফবভমযরলশসহ",
                "\u09be\u09c0\u09c1\u09c2", "abugida"),
    "Gurmukhi": ("pa-IN", "Noto Sans Gurmukhi", "", "ਕਖਗਘਚਛਜਝਟਠਡਢਤਥਦਧਨਪਫਬਭਮਯਰਲਵਸਹ",
                 "\u0a3e\u0a40\u0a41\u0a42", "abugida"),
    "Thai": ("th-TH", "Noto Sans Thai", "", "กขคงจฉชซดตถทนบปผพฟมยรลวสหอ",
             "\u0e32\u0e30\u0e35\u0e34\u0e38", "abugida"),
    "Khmer": ("km-KH", "Noto Sans Khmer", "", "កខគឃងចឆជឈញដឋឌឍណតថទធនបផពភមយរលវសហឡអ",
              "\u17b6\u17b7\u17b8\u17bb\u17bc", "abugida"),
    "Lao": ("lo-LA", "Noto Sans Lao", "", "ກຂຄງຈຊຍດຕຖທນບປຜຝພຟມຢຣລວສຫອຮ",
            "\u0eb2\u0eb4\u0eb5\u0eb8\u0eb9", "abugida"),
    "Chinese": ("zh-CN", "Noto Sans CJK", "",
                "语言服务免费提供给您如果需要帮助请打电话联系我们的工作人员可以为您安排翻译", "", "cjk"),
    "Japanese": ("ja-JP", "Noto Sans CJK", "",
                 "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわをん",
                 "", "cjk"),
    "Korean": ("ko-KR", "Noto Sans CJK", "", "가나다라마바사아자차카타파하언어지원서비스무료제공", "",
               "syllabary"),
    "Armenian": ("hy-AM", "Noto Sans Armenian", "", "բգդզթժլխծկհձղճմյնշչպջռսվտրցփքֆ",
                 "աեէըիո", "alphabet"),
    "Amharic": ("am-ET", "Noto Sans Ethiopic", "", "ሀለሐመሠረሰሸቀበተቸኀነኘአከኸወዐዘዠየደጀገጠጨጰጸፀፈፐ", "",
                "syllabary"),
}


def _sentence(script: str, length: int, rng: random.Random) -> str:
    _, _, _, letters, vowels, kind = SCRIPTS[script]

    def syllable() -> str:
        return rng.choice(letters) + (rng.choice(vowels) if vowels else "")

    if kind == "cjk":
        text = ""
        while len(text) < length // 2:
            text += "".join(syllable() for _ in range(rng.randint(6, 12))) + "、"
        return text[:-1] + "。"
    words: list[str] = []
    while sum(len(word) + 1 for word in words) < length:
        words.append("".join(syllable() for _ in range(rng.randint(1, 4))))
        if len(words) % 7 == 0:
            words[-1] += ","
    return " ".join(words) + "."


def generated_notices(length: int) -> list[dict]:
    """One line a script, in SCRIPTS' order, about `length` characters long."""
    rng = random.Random(24)
    notices = []
    for script, (lang, family, direction, *_) in SCRIPTS.items():
        entry = {"lang": lang, "text": f"{_sentence(script, length, rng)} {{phone}} (TTY: {{tty}})",
                 "source": f"generated by tests/test_notice_scripts.py from {script} letters"}
        entry.update({"family": family} if family else {})
        entry.update({"dir": direction} if direction else {})
        notices.append(entry)
    return notices


def copy_library(folder: Path) -> Path:
    folder.mkdir()
    for name in PROJECT_FILES:
        source = LIBRARY.root / name
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, folder / name)
    return folder


def write_notices(project: Path, notices: list[dict]) -> None:
    (project / "language-assistance.yaml").write_text(
        yaml.safe_dump({"notices": notices}, allow_unicode=True, sort_keys=False, width=4096),
        encoding="utf-8")


def english_length() -> int:
    english = yaml.safe_load((LIBRARY.root / "language-assistance.yaml").read_text("utf-8"))
    return len(next(n["text"] for n in english["notices"] if n["lang"].startswith("en")))


@pytest.fixture(scope="module")
def fifteen(tmp_path_factory) -> tuple[Path, list[dict], str]:
    """(project, its notices, build output): both handouts in every profile, built once."""
    project = copy_library(tmp_path_factory.mktemp("notice") / "project")
    notices = generated_notices(english_length())
    write_notices(project, notices)
    proc = run_pipeline("build", "--handout", BROCHURE, "--handout", DISCHARGE,
                        "--variant", "general", "--lang", "en", "--jobs", "2",
                        project=project)
    return project, notices, proc.stderr.decode("utf-8", "replace")


def printed_lines(project: Path, notices: list[dict]) -> list[str]:
    brand = yaml.safe_load((project / "brand.yaml").read_text("utf-8"))
    phone, tty = str(brand["phone"]), str(brand.get("tty") or "711")
    return [n["text"].replace("{phone}", phone).replace("{tty}", tty) for n in notices]


def flat(text: str) -> str:
    """Compatibility forms folded (Arabic presentation forms) and no whitespace."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def letters_of(line: str) -> list[str]:
    """The line's words as written, without punctuation, digits or the Latin 'TTY'."""
    words = (re.sub(r"[\W\d_]+", "", word, flags=re.UNICODE) for word in line.split())
    return [word for word in words if word and word != "TTY"]


def pdf_text_and_fonts(pdf: Path) -> tuple[str, list[tuple[str, str]]]:
    """All the text PDFium reads, and (character, font name) of each character."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    document = pdfium.PdfDocument(pdf)
    text, fonts = [], []
    try:
        for page in document:
            textpage = page.get_textpage()
            # Without the running footer, which a line split by a page break would
            # otherwise read through.
            text.append(re.sub(r"[^\n]*Page \d+ of \d+\s*$", "", textpage.get_text_range()))
            buffer = ctypes.create_string_buffer(256)
            for index in range(textpage.count_chars()):
                char = chr(raw.FPDFText_GetUnicode(textpage.raw, index))
                if char.isspace() or ord(char) < 0x80:
                    continue
                raw.FPDFText_GetFontInfo(textpage.raw, index, buffer, 256, None)
                fonts.append((char, buffer.value.decode("latin-1")))
    finally:
        document.close()
    return "\n".join(text), fonts


def structure_langs(pdf: Path) -> list[str]:
    """The /Lang of every structure element, depth first (reading order)."""
    import pikepdf

    found: list[str] = []

    def walk(node) -> None:
        if isinstance(node, pikepdf.Array):
            for kid in node:
                walk(kid)
        elif isinstance(node, pikepdf.Dictionary) and "/S" in node:
            if "/Lang" in node:
                found.append(str(node.Lang))
            if "/K" in node:
                walk(node.K)

    with pikepdf.open(pdf) as document:
        assert "/StructTreeRoot" in document.Root, f"{pdf.name}: no structure tree"
        walk(document.Root.StructTreeRoot.get("/K"))
    return found


def font_family(name: str) -> str:
    """'ABCDEF+Noto-Sans-Arabic' (WeasyPrint's names) -> 'NotoSansArabic'."""
    return name.split("+")[-1].rstrip(",").replace("-", "")


def output_of(project: Path, handout: str, profile: str) -> Path:
    extension = "html" if profile == "web" else "pdf"
    return project / "output" / profile / handout / f"general.{extension}"


CASES = [pytest.param(handout, profile, id=f"{kind}-{profile}")
         for kind, handout in (("brochure", BROCHURE), ("discharge", DISCHARGE))
         for profile in PROFILES[handout]]


@pytest.mark.parametrize(("handout", "profile"), CASES)
def test_fifteen_scripts_fit_and_read_in_order(fifteen, handout: str, profile: str) -> None:
    project, notices, said = fifteen
    path = output_of(project, handout, profile)
    assert path.exists(), f"{path.name} not built:\n{said}"
    lines = printed_lines(project, notices)
    if profile == "web":
        page = flat(text_of_file(path).replace("\u00a0", " "))
        where = [page.find(flat(line)) for line in lines]
        assert -1 not in where, [notices[n]["lang"] for n, at in enumerate(where) if at < 0]
        assert where == sorted(where), "the web page's lines are out of order"
        return
    text, fonts = pdf_text_and_fonts(path)
    text = flat(text.replace("\ufffe", ""))
    # Words are compared without their vowel signs and tone marks, which PDFium may
    # read back before or after their letter (letters_of drops them too).
    bare = re.sub(r"[\W\d_]+", "", text)
    for notice, line in zip(notices, lines):
        # Whole lines, except where PDFium reads a right-to-left or reordered line back in
        # another order; then every word of it, as written.
        missing = [] if flat(line) in text else \
            [word for word in letters_of(line) if word not in bare]
        assert not missing, (notice["lang"], missing[:5])
    firsts = [bare.find("".join(letters_of(line)[:3])) for line in lines]
    assert -1 not in firsts and firsts == sorted(firsts), \
        [notices[n]["lang"] for n in range(len(notices))]
    drawn_in: dict[str, set[str]] = {}
    for char, font in fonts:
        drawn_in.setdefault(char, set()).add(font_family(font))
    for notice, line in zip(notices, lines):
        letters = {c for c in "".join(letters_of(line)) if ord(c) >= 0x80
                   and unicodedata.category(c).startswith("L")}
        used = set().union(*(drawn_in.get(c, set()) for c in letters))
        family = notice.get("family", "").replace(" ", "")
        if family:
            assert used and all(name.startswith(family) for name in used), (notice["lang"], used)
            assert family != "NotoSans" or used == {"NotoSans"}, (notice["lang"], used)
        else:
            assert used and not any("Noto" in name for name in used), (notice["lang"], used)


@pytest.mark.parametrize("handout", [BROCHURE, DISCHARGE], ids=["brochure", "discharge"])
def test_each_line_is_tagged_with_its_language(fifteen, handout: str) -> None:
    project, notices, said = fifteen
    for profile in TAGGED:
        path = output_of(project, handout, profile)
        assert path.exists(), f"{path.name} not built:\n{said}"
        langs = [lang for lang in structure_langs(path) if lang in {n["lang"] for n in notices}]
        # A line split by a page break is tagged on each of its parts.
        once = [lang for n, lang in enumerate(langs) if n == 0 or langs[n - 1] != lang]
        assert once == [n["lang"] for n in notices], langs


def flat_pages(pdf: Path) -> list[str]:
    return [flat(text) for text in page_texts(pdf)]


SHEET_TITLE = "Language help"  # the sheet's title, which the kept lines point to
POINTER = "More languages: see the Language help sheet."


def label(project: Path, lang: str, english: str) -> str:
    """A fixed template word in `lang`, as languages.yaml gives it."""
    if lang == "en":
        return english
    languages = yaml.safe_load((project / "languages.yaml").read_text("utf-8"))["languages"]
    return languages[lang]["labels"][english]


def notice_sheet_start(pages: list[str], project: Path, notices: list[dict],
                       lang: str = "en") -> int:
    """The page the notice's own sheet starts on: its title, the clinic's name, the
    document it goes with, then every line."""
    clinic = yaml.safe_load((project / "brand.yaml").read_text("utf-8"))["name"]
    first = flat(printed_lines(project, notices)[0])[:12]
    return next(number for number, text in enumerate(pages)
                if text.startswith(flat(label(project, lang, SHEET_TITLE)) + flat(clinic))
                and first in text[:400])


@pytest.mark.parametrize("profile", ["press", "office", "office-a4"])
def test_a_notice_too_long_goes_on_its_own_sheet(fifteen, profile: str) -> None:
    """A tri-fold on paper: the brochure's two pages, then every line in order on the
    notice's own sheet; the inside panel keeps the first lines that fit (the build
    held it to the panel-fill gate), not all of them."""
    project, notices, said = fifteen
    path = output_of(project, BROCHURE, profile)
    assert path.exists(), f"{path.name} not built:\n{said}"
    pages = flat_pages(path)
    assert notice_sheet_start(pages, project, notices) == 2, [text[:40] for text in pages]
    sheet = "".join(pages[2:])
    heads = ["".join(letters_of(line)[:3]) for line in printed_lines(project, notices)]
    bare = re.sub(r"[\W\d_]+", "", sheet)
    where = [bare.find(head) for head in heads]
    assert -1 not in where and where == sorted(where), where
    inside = re.sub(r"[\W\d_]+", "", pages[1])
    kept = [head in inside for head in heads]
    assert any(kept) and not all(kept) and kept == sorted(kept, reverse=True), kept
    assert pages[1].count(flat(POINTER)) == 1 and flat(POINTER) not in "".join(pages[2:])
    # brand.yaml holds placeholders: on press every column of the sheet says SAMPLE,
    # as every panel does; office files carry no mark.
    for page in range(2, len(pages)):
        marks = sample_mark_by_third(path, page)
        assert all(marks) if profile == "press" else marks == [0, 0, 0], (page, marks)


def test_fifteen_scripts_fit_the_large_print_sheet(fifteen) -> None:
    """Four pages of large print (its limit), then the notice's own sheet."""
    project, notices, _ = fifteen
    proc = run_pipeline("build", "--handout", DISCHARGE, "--variant", "seniors-osteoporosis",
                        "--profile", "office", "--lang", "en", project=project)
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")[-600:]
    path = project / "output" / "office" / DISCHARGE / "seniors-osteoporosis.pdf"
    pages = flat_pages(path)
    start = notice_sheet_start(pages, project, notices)
    variants = yaml.safe_load((project / "variants.yaml").read_text("utf-8"))["variants"]
    assert 1 <= start <= variants["seniors-osteoporosis"]["max_pages"]["discharge"], \
        (start, len(pages))
    assert flat(POINTER) in "".join(pages[:start])  # the kept line points to the sheet
    sheet = re.sub(r"[\W\d_]+", "", "".join(pages[start:]))
    heads = ["".join(letters_of(line)[:3]) for line in printed_lines(project, notices)]
    where = [sheet.find(head) for head in heads]
    assert -1 not in where and where == sorted(where), where


def test_a_nurse_s_large_print_sheet_ends_with_the_notice_sheet(fifteen, tmp_path) -> None:
    """The desk's path (`pipeline.py discharge`) lays the sheet out as the build did:
    the patient's name on page 1, the handout within its limit, then every line."""
    project, notices, _ = fifteen
    out = tmp_path / "sheet.pdf"
    proc = run_pipeline("discharge", "--handout", DISCHARGE, "--variant",
                        "seniors-osteoporosis", "--patient", "Ann Quist", "-o", str(out),
                        project=project)
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")[-600:]
    pages = flat_pages(out)
    assert "AnnQuist" in pages[0]
    start = notice_sheet_start(pages, project, notices)
    variants = yaml.safe_load((project / "variants.yaml").read_text("utf-8"))["variants"]
    assert 1 <= start <= variants["seniors-osteoporosis"]["max_pages"]["discharge"]
    sheet = re.sub(r"[\W\d_]+", "", "".join(pages[start:]))
    assert all("".join(letters_of(line)[:3]) in sheet
               for line in printed_lines(project, notices))


def test_the_clinic_s_lines_and_fifteen_more_fit_large_print_in_both_languages(
        tmp_path: Path) -> None:
    """The notice file's own lines (English and Spanish) and fifteen generated ones
    after them: the large-print brochure (16 pt: its panel beside the figure holds
    least), in English and in Spanish, on letter paper. Both build, so the kept place
    passed the layout gate (panel fill: keeping one line and the pointer there left
    the panel 63 % full, and the place is chosen by the gate); each ends in the
    notice's own sheet with every line in order, and the lines kept in the panels
    hold the reader's own. (The large-print discharge sheet: the fifteen fixture.)"""
    project = with_languages(copy_library(tmp_path / "project"))
    own = yaml.safe_load((project / "language-assistance.yaml").read_text("utf-8"))["notices"]
    notices = own + generated_notices(english_length())
    write_notices(project, notices)
    proc = run_pipeline("build", "--handout", BROCHURE, "--profile", "office", "--variant",
                        "seniors-osteoporosis", "--lang", "en", "--lang", "es",
                        "--allow-draft", "--jobs", "2", project=project)
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")[-1500:]
    heads = ["".join(letters_of(line)[:3]) for line in printed_lines(project, notices)]
    built = sorted((project / "output").rglob("*.pdf"))
    assert len(built) == 2, built
    for path in built:
        lang = "es" if "/es/" in str(path) else "en"
        pages = flat_pages(path)
        assert notice_sheet_start(pages, project, notices, lang) == 2, path
        bare = re.sub(r"[\W\d_]+", "", "".join(pages[2:]))
        where = [bare.find(head) for head in heads]
        assert -1 not in where and where == sorted(where), (path, where)
        reader = next(head for head, notice in zip(heads, notices)
                      if notice["lang"].startswith(lang))
        assert reader in re.sub(r"[\W\d_]+", "", pages[1]), path


def test_the_notice_sheet_is_no_room_for_a_handout_too_long(tmp_path: Path) -> None:
    """Planted: a page limit the handout itself does not meet. Moving the notice to its
    own sheet must not hide it: the build fails naming the pages and the section."""
    project = copy_library(tmp_path / "project")
    write_notices(project, generated_notices(english_length()))
    variants = project / "variants.yaml"
    text = variants.read_text("utf-8")
    variants.write_text(text.replace("max_pages: {brochure: 2, discharge: 4}",
                                     "max_pages: {brochure: 2, discharge: 1}"), "utf-8")
    proc = run_pipeline("build", "--handout", DISCHARGE, "--variant", "seniors-osteoporosis",
                        "--profile", "office", "--lang", "en", project=project)
    assert_process_failed(proc, "seniors-osteoporosis", "more than the 1 allowed",
                          "runs past page 1")
    assert not list((project / "output").rglob("*.pdf"))


def test_a_line_its_font_cannot_print_fails_the_build_naming_it(tmp_path: Path) -> None:
    """A line whose letters its named font lacks, and one that names no font where the
    body fonts lack its script: one line each, naming the file, the line and the fix."""
    project = copy_library(tmp_path / "project")
    notices = generated_notices(120)[:3]
    notices[1]["family"] = "Noto Sans Thai"  # Cyrillic letters in a Thai font
    del notices[2]["family"]  # Arabic in the body fonts
    write_notices(project, notices)
    proc = run_pipeline("build", "--handout", DISCHARGE, "--variant", "general",
                        "--profile", "office", "--lang", "en", project=project)
    said = assert_process_failed(proc, "language-assistance.yaml:", "notices[1].text",
                                 "NotoSansThai", "notices[2].text", "has no glyph for",
                                 "family:")
    problems = [line for line in said.splitlines() if "notices[" in line]
    assert all(re.match(r"(Error: )?language-assistance\.yaml:\d+: notices\[\d\]\.text: ",
                        line) for line in problems), problems
    assert not list((project / "output").rglob("*.pdf"))
