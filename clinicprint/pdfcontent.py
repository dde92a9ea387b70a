"""Walk a PDF page's drawing operators with the graphics state a printer would track.

Shared by press.py (which rewrites what a print shop's preflight rejects) and
preflight.py (which reports what is there). It follows the current transformation,
fill and stroke colours, line width, overprint, text size and position through q/Q,
cm, gs, colour, text and XObject operators, and recurses into form XObjects with the
matrix they are drawn at. Every text run, painted path, image and shading is noted as
a `Seen` (what, where, how big, in which colour), for the rules in gwg.py to judge.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Callable

import pikepdf
from pikepdf import Name, Operator

from .gwg import STANDARD

Matrix = tuple[float, float, float, float, float, float]
IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
SOLID_BLACK = (0.0, 0.0, 0.0, 1.0)
REGISTRATION = "/Registration"  # our resource name for Separation /All
OVERPRINT_GS, KNOCKOUT_GS = "/GWGop", "/GWGko"  # our ExtGState names (press.py)
INK_EPSILON = 0.002  # a component this small puts no ink on its plate

PATH_OPS = {"m", "l", "c", "v", "y", "h", "re"}
CLIP_OPS = {"W", "W*"}
STROKE_OPS = {"S", "s", "B", "B*", "b", "b*"}
FILL_OPS = {"f", "F", "f*", "B", "B*", "b", "b*"}
EVEN_ODD_OPS = {"f*", "B*", "b*"}
PAINT_OPS = STROKE_OPS | FILL_OPS | {"n"}
TEXT_SHOW_OPS = {"Tj", "TJ", "'", '"'}
RGB_SPACES = {"DeviceRGB", "CalRGB", "ICCBased(3)"}


def multiply(a: Matrix, b: Matrix) -> Matrix:
    """a, then b (PDF's row-vector convention: `a b cm` makes CTM = a x CTM)."""
    return (a[0] * b[0] + a[1] * b[2], a[0] * b[1] + a[1] * b[3],
            a[2] * b[0] + a[3] * b[2], a[2] * b[1] + a[3] * b[3],
            a[4] * b[0] + a[5] * b[2] + b[4], a[4] * b[1] + a[5] * b[3] + b[5])


def apply(m: Matrix, x: float, y: float) -> tuple[float, float]:
    return (x * m[0] + y * m[2] + m[4], x * m[1] + y * m[3] + m[5])


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
        """The colour as C, M, Y, K fractions, where it is one (Registration: all four)."""
        if self.space in ("DeviceCMYK", "ICCBased(4)") and len(self.values) == 4:
            return self.values
        if self.space in ("DeviceGray", "ICCBased(1)") and len(self.values) == 1:
            return (0.0, 0.0, 0.0, 1 - self.values[0])
        if self.space == "Separation(All)" and len(self.values) == 1:
            return (self.values[0],) * 4
        return None

    @property
    def inks(self) -> int | None:
        """How many plates it prints on (None where that is not a process colour)."""
        cmyk = self.cmyk
        return None if cmyk is None else sum(value > INK_EPSILON for value in cmyk)

    @property
    def white(self) -> bool:
        return self.inks == 0

    @property
    def solid_black(self) -> bool:
        cmyk = self.cmyk
        return cmyk is not None and self.space != "Separation(All)" and \
            max(cmyk[:3]) <= INK_EPSILON and cmyk[3] >= 1 - INK_EPSILON

    @property
    def near_black(self) -> bool:
        """A dark black that is not 100 % K alone: a tint, or a black of several inks.
        Small text and hairlines in it blur at the slightest misregistration (or
        print screened) on press."""
        cmyk = self.cmyk
        return cmyk is not None and self.space != "Separation(All)" and \
            cmyk[3] >= 0.6 and not self.solid_black

    def describe(self) -> str:
        cmyk = self.cmyk
        if self.space == "Separation(All)":
            return "Registration"
        if cmyk is None:
            return f"{self.space} {' '.join(f'{v:g}' for v in self.values)}"
        parts = [f"{name}{round(value * 100)}" for name, value in zip("CMYK", cmyk)
                 if value > INK_EPSILON]
        return " ".join(parts) or "white"


@dataclass
class State:
    ctm: Matrix = IDENTITY
    fill: Paint = field(default_factory=Paint)
    stroke: Paint = field(default_factory=Paint)
    line_width: float = 1.0
    font_size: float = 0.0
    render_mode: int = 0
    overprint_fill: bool = False
    overprint_stroke: bool = False
    overprint_mode: int = 0
    forced: bool = False     # the fill is 100 % K in place of the near-black in `fill`
    forced_op: bool = False  # overprint set by the fix, to be switched off again


@dataclass
class Seen:
    """One thing painted, for the rules: where (page space), how big, in what."""

    what: str                # "text", "line", "fill", "image", "shading"
    x: float
    y: float
    size: float              # text: pt; line: width in pt; image: ppi; else 0
    paint: Paint | None
    overprint: bool = False
    overprint_mode: int = 0
    marks: bool = False      # inside the crop marks' form
    name: str = ""           # an image's resource name


@dataclass
class Findings:
    """What a walk saw, for the preflight report (and whether it changed anything)."""

    spaces: set[str] = field(default_factory=set)
    seen: list[Seen] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)  # each transparency group's space
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
    Registration, near-black small text and thin lines become 100 % K, and 100 % K
    small text and thin lines overprint (the ExtGStates press.py adds)."""

    def __init__(self, resources, ctm: Matrix, findings: Findings, fix: bool,
                 marks: bool = False, on_xobject: Callable | None = None):
        self.resources = resources
        self.findings = findings
        self.fix = fix
        self.marks = marks
        self.on_xobject = on_xobject or (lambda xobject, ctm, name: None)
        self.state = State(ctm=ctm)
        self.stack: list[State] = []
        self.out: list = []
        self.path_start: int | None = None
        self.path_origin: tuple[float, float] | None = None
        # (x, y, w, h), w and h positive, while the path is rectangles
        self.rects: list[tuple[float, float, float, float]] | None = []
        self.text_matrix: Matrix = IDENTITY
        self.line_matrix: Matrix = IDENTITY
        self.leading = 0.0
        self.uses_overprint_gs = False

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

    def _see(self, what: str, x: float, y: float, size: float, paint: Paint | None,
             overprint: bool = False, name: str = "") -> None:
        self.findings.seen.append(Seen(what, x, y, size, paint, overprint,
                                       self.state.overprint_mode, self.marks, name))

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
            if "/OP" in gstate:
                self.state.overprint_stroke = bool(gstate["/OP"])
                # /op defaults to /OP when absent (PDF 32000-1, 8.4.5).
                self.state.overprint_fill = bool(gstate.get("/op", gstate["/OP"]))
            elif "/op" in gstate:
                self.state.overprint_fill = bool(gstate["/op"])
            if "/OPM" in gstate:
                self.state.overprint_mode = int(gstate["/OPM"])
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
        """Back to the colour and overprint the document chose, before something else
        paints."""
        if self.state.forced:
            self.out.extend(self.state.fill.ops)
            self.state.forced = False
        if self.state.forced_op:
            self.out.append(op([Name(KNOCKOUT_GS)], "gs"))
            self.state.forced_op = False
            self.state.overprint_fill = self.state.overprint_stroke = False

    def _overprint_on(self, at: int | None = None) -> None:
        """Overprint (OPM 1) for what comes next: a 100 % K object leaves the other
        plates alone, so no white gap shows when they shift."""
        if self.state.forced_op or (self.state.overprint_fill and self.state.overprint_stroke):
            return
        instruction = op([Name(OVERPRINT_GS)], "gs")
        if at is None:
            self.out.append(instruction)
        else:
            self.out.insert(at, instruction)
        self.state.forced_op = True
        self.state.overprint_fill = self.state.overprint_stroke = True
        self.state.overprint_mode = 1
        self.uses_overprint_gs = True
        self._changed()

    # --- paths --------------------------------------------------------------

    def _op_path(self, operands, name):
        if self.path_start is None:
            self._unforce()
            self.path_start, self.rects = len(self.out), []
            if len(operands) >= 2:
                self.path_origin = apply(self.state.ctm, float(operands[0]),
                                         float(operands[1]))
        if name == "re" and self.rects is not None:
            x, y, w, h = (float(value) for value in operands[:4])
            self.rects.append((min(x, x + w), min(y, y + h), abs(w), abs(h)))
        elif name != "re":
            self.rects = None
        self._emit(operands, name)

    def _op_clip(self, operands, name):
        self._emit(operands, name)

    def _op_paint(self, operands, name):
        start = self.path_start if self.path_start is not None else len(self.out)
        x, y = self.path_origin or apply(self.state.ctm, 0, 0)
        scale = scale_of(self.state.ctm)
        limit = STANDARD.black_overprint_line_below_pt
        inserts, after = [], []
        stroke_width = self.state.line_width * scale
        strokes = name in STROKE_OPS and not self.marks
        if strokes and self.state.stroke.near_black and stroke_width < limit:
            inserts.append(op([0, 0, 0, 1], "K"))
            after.extend(self.state.stroke.ops)
        thin_fill = None
        if name in FILL_OPS and self.rects:
            thin_fill = _thinnest(self.rects, name in EVEN_ODD_OPS) * scale
        fill_rule = thin_fill is not None and thin_fill < limit and not self.marks
        if fill_rule and self.state.fill.near_black:
            inserts.append(op([0, 0, 0, 1], "k"))
            after.extend(self.state.fill.ops)
        if inserts and self.fix:
            self._changed()
            self.out[start:start] = inserts
        stroke_paint = Paint("DeviceCMYK", SOLID_BLACK) if strokes and any(
            i[1] == Operator("K") for i in inserts) and self.fix else self.state.stroke
        fill_paint = Paint("DeviceCMYK", SOLID_BLACK) if fill_rule and any(
            i[1] == Operator("k") for i in inserts) and self.fix else self.state.fill
        black_rule = (strokes and stroke_paint.solid_black and stroke_width < limit) or \
            (fill_rule and fill_paint.solid_black)
        if black_rule and self.fix:
            self._overprint_on(at=start)
        if name in STROKE_OPS:
            self._see("line", x, y, stroke_width, stroke_paint, self.state.overprint_stroke)
        if name in FILL_OPS:
            what = "line" if thin_fill is not None and thin_fill < limit else "fill"
            self._see(what, x, y, thin_fill if what == "line" else 0.0, fill_paint,
                      self.state.overprint_fill)
        self._emit(operands, name)
        if inserts and self.fix:
            self.out.extend(after)
        self.path_start, self.path_origin, self.rects = None, None, []

    # --- text ---------------------------------------------------------------

    def _op_begin_text(self, operands, name):
        self.text_matrix = self.line_matrix = IDENTITY
        self._emit(operands, name)

    def _op_font(self, operands, name):
        self.state.font_size = float(operands[1])
        self._emit(operands, name)

    def _op_render_mode(self, operands, name):
        self.state.render_mode = int(operands[0])
        self._emit(operands, name)

    def _op_text_matrix(self, operands, name):
        self.text_matrix = self.line_matrix = tuple(map(float, operands))
        self._emit(operands, name)

    def _op_text_move(self, operands, name):
        if name == "T*":
            tx, ty = 0.0, -self.leading
        else:
            tx, ty = float(operands[0]), float(operands[1])
            if name == "TD":
                self.leading = -ty
        self.text_matrix = self.line_matrix = multiply((1, 0, 0, 1, tx, ty), self.line_matrix)
        self._emit(operands, name)

    def _op_leading(self, operands, name):
        self.leading = float(operands[0])
        self._emit(operands, name)

    def _op_show(self, operands, name):
        if name in ("'", '"'):
            self.text_matrix = self.line_matrix = multiply((1, 0, 0, 1, 0, -self.leading),
                                                           self.line_matrix)
        matrix = multiply(self.text_matrix, self.state.ctm)
        size = abs(self.state.font_size) * scale_of(matrix)
        x, y = matrix[4], matrix[5]
        mode = self.state.render_mode % 4
        if mode == 3:  # invisible text paints nothing
            self._emit(operands, name)
            return
        small = size < STANDARD.black_overprint_text_below_pt
        fills = mode in (0, 2)
        if fills and small and self.state.fill.near_black and not self.marks:
            if self.fix and not self.state.forced:
                self._changed()
                self._emit([0, 0, 0, 1], "k")
                self.state.forced = True
        elif self.state.forced:
            self._unforce()
        fill = Paint("DeviceCMYK", SOLID_BLACK) if self.state.forced else self.state.fill
        if self.fix and small and fills and fill.solid_black and not self.marks:
            self._overprint_on()
        elif self.state.forced_op and not (small and fills and fill.solid_black):
            self._unforce()
        if fills:
            self._see("text", x, y, size, fill, self.state.overprint_fill)
        if mode in (1, 2):
            self._see("text", x, y, size, self.state.stroke, self.state.overprint_stroke)
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
            space = space_name(shading.get("/ColorSpace"), self.resources)
            self.findings.spaces.add(space)
            x, y = apply(self.state.ctm, 0, 0)
            self._see("shading", x, y, 0.0, Paint(space, ()))
        self._emit(operands, name)

    def _inline_image(self, image) -> None:
        self._unforce()
        details = image.iimage.obj if hasattr(image, "iimage") else {}
        space = details.get("/CS") or details.get("/ColorSpace")
        if space is not None:
            name = space_name(space, self.resources)
            self.findings.spaces.add(name)
            x, y = apply(self.state.ctm, 0, 0)
            self._see("image", x, y, 0.0, Paint(name, ()), name="inline")
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
    "BT": "begin_text", "Tf": "font", "Tm": "text_matrix", "Tr": "render_mode",
    "Td": "text_move", "TD": "text_move", "T*": "text_move", "TL": "leading",
    **{name: "show" for name in TEXT_SHOW_OPS},
    "Do": "xobject", "sh": "shading",
}


def _thinnest(rects: list[tuple[float, float, float, float]], even_odd: bool) -> float:
    """How thick a filled path of rectangles is. Two nested rectangles filled even-odd
    paint only the space between them: that is how WeasyPrint draws a border (a rule
    under a heading is the bottom strip of such a ring), so its thickness is the widest
    gap between them, not the size of either rectangle."""
    if even_odd and len(rects) == 2:
        (ox, oy, ow, oh), (ix, iy, iw, ih) = sorted(rects, key=lambda r: r[2] * r[3],
                                                    reverse=True)
        gaps = (ix - ox, iy - oy, (ox + ow) - (ix + iw), (oy + oh) - (iy + ih))
        if min(gaps) >= 0 and max(gaps) > 0:
            return max(gaps)
    return min(min(w, h) for _, _, w, h in rects)
