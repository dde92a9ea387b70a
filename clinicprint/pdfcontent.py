"""Walk a PDF page's drawing operators with the graphics state a printer would track.

Shared by press.py (which rewrites what a print shop's preflight rejects) and
preflight.py (which reports what is there). It follows the current transformation,
fill and stroke colours, line width and text size through q/Q, cm, colour, text and
XObject operators, and recurses into form XObjects with the matrix they are drawn at.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Callable

import pikepdf
from pikepdf import Name, Operator

Matrix = tuple[float, float, float, float, float, float]
IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
SOLID_BLACK = (0.0, 0.0, 0.0, 1.0)
SMALL_TEXT_PT = 12.0   # smaller black text prints on the black plate alone
THIN_RULE_PT = 1.0     # so do thinner black rules
REGISTRATION = "/Registration"  # our resource name for Separation /All

PATH_OPS = {"m", "l", "c", "v", "y", "h", "re"}
CLIP_OPS = {"W", "W*"}
STROKE_OPS = {"S", "s", "B", "B*", "b", "b*"}
FILL_OPS = {"f", "F", "f*", "B", "B*", "b", "b*"}
PAINT_OPS = STROKE_OPS | FILL_OPS | {"n"}
TEXT_SHOW_OPS = {"Tj", "TJ", "'", '"'}
RGB_SPACES = {"DeviceRGB", "CalRGB", "ICCBased(3)"}


def multiply(a: Matrix, b: Matrix) -> Matrix:
    """a, then b (PDF's row-vector convention: `a b cm` makes CTM = a x CTM)."""
    return (a[0] * b[0] + a[1] * b[2], a[0] * b[1] + a[1] * b[3],
            a[2] * b[0] + a[3] * b[2], a[2] * b[1] + a[3] * b[3],
            a[4] * b[0] + a[5] * b[2] + b[4], a[4] * b[1] + a[5] * b[3] + b[5])


def scale_of(m: Matrix) -> float:
    """How much a matrix scales lengths (the square root of its area scale)."""
    return math.sqrt(abs(m[0] * m[3] - m[1] * m[2]))


def rgb_to_cmyk(red: float, green: float, blue: float) -> tuple[float, ...]:
    """Greys on the black plate alone, like colour.py does for the stylesheets."""
    black = 1 - max(red, green, blue)
    if black >= 1:
        return SOLID_BLACK
    if red == green == blue:
        return (0.0, 0.0, 0.0, black)
    return tuple((1 - c - black) / (1 - black) for c in (red, green, blue)) + (black,)


def is_near_black(cmyk: tuple[float, ...]) -> bool:
    """A black or near-black in more than one ink, or a black tint: small text and hairlines
    in it blur at the slightest misregistration (or print screened) on press."""
    c, m, y, k = cmyk
    return k >= 0.6 and max(c, m, y) <= 0.4 and tuple(cmyk) != SOLID_BLACK


def number(value: float) -> Decimal:
    return Decimal(f"{value:.4f}").normalize() if value != int(value) else Decimal(int(value))


def op(operands: list, name: str) -> tuple[list, Operator]:
    return (operands, Operator(name))


@dataclass
class Paint:
    space: str = "DeviceGray"
    values: tuple[float, ...] = (0.0,)
    ops: tuple = ()  # the instructions that set it, to set it again

    @property
    def cmyk(self) -> tuple[float, ...] | None:
        if self.space in ("DeviceCMYK", "ICCBased(4)") and len(self.values) == 4:
            return self.values
        return None


@dataclass
class State:
    ctm: Matrix = IDENTITY
    fill: Paint = field(default_factory=Paint)
    stroke: Paint = field(default_factory=Paint)
    line_width: float = 1.0
    font_size: float = 0.0
    forced: bool = False  # the fill is 100 % K in place of the near-black in `fill`


@dataclass
class Findings:
    """What a walk saw, for the preflight report (and whether it changed anything)."""

    spaces: set[str] = field(default_factory=set)
    rich_black: int = 0          # small text runs and thin rules in a near-black
    image_dpi: list[tuple[str, float]] = field(default_factory=list)
    transparency: bool = False
    changed: bool = False


def space_name(space, resources) -> str:
    """A readable name for a colour space operand or object: DeviceCMYK, ICCBased(4)..."""
    if isinstance(space, Name):
        name = str(space)[1:]
        if name in ("DeviceRGB", "DeviceCMYK", "DeviceGray", "Pattern"):
            return name
        named = (resources.get("/ColorSpace") or {}).get(str(space))
        return space_name(named, resources) if named is not None else name
    if isinstance(space, pikepdf.Array) and len(space):
        family = str(space[0])[1:]
        if family == "ICCBased":
            return f"ICCBased({int(space[1].get('/N', 0))})"
        if family == "Separation":
            return f"Separation({str(space[1])[1:]})"
        if family == "Indexed":
            return f"Indexed({space_name(space[1], resources)})"
        return family
    return "unknown"


def uses_transparency_gs(gstate) -> bool:
    soft = gstate.get("/SMask")
    blend = gstate.get("/BM")
    return (float(gstate.get("/ca", 1)) < 1 or float(gstate.get("/CA", 1)) < 1
            or (soft is not None and soft != Name.None_)
            or (blend is not None and str(blend) not in ("/Normal", "/Compatible")))


class Walker:
    """One content stream. With `fix`, RGB becomes CMYK, the crop marks' RGB becomes
    Registration, and near-black small text and thin rules become 100 % K."""

    def __init__(self, resources, ctm: Matrix, findings: Findings, fix: bool,
                 marks: bool = False, on_xobject: Callable | None = None):
        self.resources = resources
        self.findings = findings
        self.fix = fix
        self.marks = marks
        self.on_xobject = on_xobject or (lambda name, ctm: None)
        self.state = State(ctm=ctm)
        self.stack: list[State] = []
        self.out: list = []
        self.path_start: int | None = None
        self.rects: list[tuple[float, float]] | None = []  # (w, h) while the path is rects
        self.text_matrix: Matrix = IDENTITY

    # --- the walk -----------------------------------------------------------

    def run(self, instructions) -> list:
        for instruction in instructions:
            if isinstance(instruction, pikepdf.ContentStreamInlineImage):
                self._inline_image(instruction)
                continue
            operands, operator = instruction
            handler = getattr(self, "_op_" + HANDLERS.get(str(operator), "other"))
            handler(list(operands), str(operator))
        return self.out

    def _emit(self, operands: list, name: str) -> None:
        self.out.append(op(operands, name))

    def _changed(self) -> None:
        self.findings.changed = True

    # --- graphics state -----------------------------------------------------

    def _op_push(self, operands, name):
        self.stack.append(replace(self.state))
        self._emit(operands, name)

    def _op_pop(self, operands, name):
        if self.stack:
            self.state = self.stack.pop()
        self._emit(operands, name)

    def _op_cm(self, operands, name):
        self.state.ctm = multiply(tuple(map(float, operands)), self.state.ctm)
        self._emit(operands, name)

    def _op_width(self, operands, name):
        self.state.line_width = float(operands[0])
        self._emit(operands, name)

    def _op_gs(self, operands, name):
        gstate = (self.resources.get("/ExtGState") or {}).get(str(operands[0]))
        if gstate is not None:
            if uses_transparency_gs(gstate):
                self.findings.transparency = True
            if "/LW" in gstate:
                self.state.line_width = float(gstate["/LW"])
        self._emit(operands, name)

    # --- colour -------------------------------------------------------------

    def _op_space(self, operands, name):
        space = space_name(operands[0], self.resources)
        if self.marks and self.fix:
            self._changed()  # the marks paint in Registration whatever they chose
            operands, space = [Name(REGISTRATION)], "Separation(All)"
        elif space in RGB_SPACES and self.fix:
            self._changed()
            operands, space = [Name.DeviceCMYK], "DeviceCMYK"
        self.findings.spaces.add(space)
        default = (0.0, 0.0, 0.0, 1.0) if space == "DeviceCMYK" else (1.0,) \
            if space.startswith("Separation") else (0.0,)
        self._set(name == "cs", Paint(space, default, (op(operands, name),)))
        self._emit(operands, name)

    def _op_colour(self, operands, name):
        fill = name in ("sc", "scn")
        paint = self.state.fill if fill else self.state.stroke
        numbers = [float(x) for x in operands if not isinstance(x, Name)]
        if paint.space == "Separation(All)" and self.marks:
            operands = [Decimal(1)]
        elif self.fix and len(numbers) == 3 and paint.space == "DeviceCMYK" \
                and len(operands) == 3:
            # what was an RGB colour space, now CMYK
            operands = [number(v) for v in rgb_to_cmyk(*numbers)]
        values = tuple(float(x) for x in operands if not isinstance(x, Name))
        self._set(fill, Paint(paint.space, values, paint.ops[:1] + (op(operands, name),)))
        self._emit(operands, name)

    def _op_device(self, operands, name):
        """g/G, rg/RG, k/K: a device colour space and its colour in one operator."""
        fill = name.islower()
        values = tuple(float(x) for x in operands)
        space = {1: "DeviceGray", 3: "DeviceRGB", 4: "DeviceCMYK"}[len(values)]
        if space == "DeviceRGB" and self.fix:
            self._changed()
            if self.marks:
                sets = (op([Name(REGISTRATION)], "cs" if fill else "CS"),
                        op([Decimal(1)], "scn" if fill else "SCN"))
                self.findings.spaces.add("Separation(All)")
                self._set(fill, Paint("Separation(All)", (1.0,), sets))
                self.out.extend(sets)
                return
            values, space = rgb_to_cmyk(*values), "DeviceCMYK"
            operands, name = [number(v) for v in values], "k" if fill else "K"
        self.findings.spaces.add(space)
        self._set(fill, Paint(space, values, (op(operands, name),)))
        self._emit(operands, name)

    def _set(self, fill: bool, paint: Paint) -> None:
        if fill:
            self.state.fill, self.state.forced = paint, False
        else:
            self.state.stroke = paint

    def _unforce(self) -> None:
        """Back to the colour the document chose, before something else uses the fill."""
        if self.state.forced:
            self.out.extend(self.state.fill.ops)
            self.state.forced = False

    # --- paths --------------------------------------------------------------

    def _op_path(self, operands, name):
        if self.path_start is None:
            self._unforce()
            self.path_start, self.rects = len(self.out), []
        if name == "re" and self.rects is not None:
            self.rects.append((abs(float(operands[2])), abs(float(operands[3]))))
        elif name != "re":
            self.rects = None
        self._emit(operands, name)

    def _op_clip(self, operands, name):
        self._emit(operands, name)

    def _op_paint(self, operands, name):
        start = self.path_start if self.path_start is not None else len(self.out)
        scale = scale_of(self.state.ctm)
        inserts, after = [], []
        stroke_cmyk = self.state.stroke.cmyk
        if name in STROKE_OPS and stroke_cmyk and is_near_black(stroke_cmyk) \
                and self.state.line_width * scale < THIN_RULE_PT:
            inserts.append(op([0, 0, 0, 1], "K"))
            after.extend(self.state.stroke.ops)
        fill_cmyk = self.state.fill.cmyk
        if name in FILL_OPS and fill_cmyk and is_near_black(fill_cmyk) and self.rects \
                and min(min(w, h) for w, h in self.rects) * scale < THIN_RULE_PT:
            inserts.append(op([0, 0, 0, 1], "k"))
            after.extend(self.state.fill.ops)
        if inserts:
            self.findings.rich_black += 1
            if self.fix:
                self._changed()
                self.out[start:start] = inserts
        self._emit(operands, name)
        if inserts and self.fix:
            self.out.extend(after)
        self.path_start, self.rects = None, []

    # --- text ---------------------------------------------------------------

    def _op_begin_text(self, operands, name):
        self.text_matrix = IDENTITY
        self._emit(operands, name)

    def _op_font(self, operands, name):
        self.state.font_size = float(operands[1])
        self._emit(operands, name)

    def _op_text_matrix(self, operands, name):
        self.text_matrix = tuple(map(float, operands))
        self._emit(operands, name)

    def _op_show(self, operands, name):
        size = abs(self.state.font_size) * scale_of(multiply(self.text_matrix, self.state.ctm))
        cmyk = self.state.fill.cmyk
        if size < SMALL_TEXT_PT and cmyk and is_near_black(cmyk):
            self.findings.rich_black += 1
            if self.fix and not self.state.forced:
                self._changed()
                self._emit([0, 0, 0, 1], "k")
                self.state.forced = True
        else:
            self._unforce()
        self._emit(operands, name)

    # --- pictures and forms -------------------------------------------------

    def _op_xobject(self, operands, name):
        self._unforce()  # forms inherit the fill colour; image masks paint with it
        xobject = (self.resources.get("/XObject") or {}).get(str(operands[0]))
        if xobject is not None:
            self.on_xobject(xobject, self.state.ctm, str(operands[0]))
        self._emit(operands, name)

    def _op_shading(self, operands, name):
        shading = (self.resources.get("/Shading") or {}).get(str(operands[0]))
        if shading is not None:
            self.findings.spaces.add(space_name(shading.get("/ColorSpace"), self.resources))
        self._emit(operands, name)

    def _inline_image(self, image) -> None:
        self._unforce()
        details = image.iimage.obj if hasattr(image, "iimage") else {}
        space = details.get("/CS") or details.get("/ColorSpace")
        if space is not None:
            self.findings.spaces.add(space_name(space, self.resources))
        self.out.append(image)

    def _op_other(self, operands, name):
        self._emit(operands, name)


HANDLERS = {
    "q": "push", "Q": "pop", "cm": "cm", "w": "width", "gs": "gs",
    "cs": "space", "CS": "space", "sc": "colour", "scn": "colour", "SC": "colour",
    "SCN": "colour", "g": "device", "G": "device", "rg": "device", "RG": "device",
    "k": "device", "K": "device",
    **{name: "path" for name in PATH_OPS}, **{name: "clip" for name in CLIP_OPS},
    **{name: "paint" for name in PAINT_OPS},
    "BT": "begin_text", "Tf": "font", "Tm": "text_matrix",
    **{name: "show" for name in TEXT_SHOW_OPS},
    "Do": "xobject", "sh": "shading",
}
