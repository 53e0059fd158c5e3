"""Terminal output -> HTML: SGR colours and styles become spans, other escape sequences are dropped.

Carriage returns behave as on a terminal (a progress bar keeps only its last state), and the
renderer keeps its state between ``feed`` calls so a colour may span chunks.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, replace

#: CSI sequences (colours, cursor moves), OSC sequences (titles, links) and lone two-byte escapes.
_ESCAPE = re.compile(r"\x1b\[([0-9;:?<>=]*)[ -/]*([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]?")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f]")

BOLD, DIM, ITALIC, UNDERLINE, INVERSE, STRIKE = 1, 2, 3, 4, 7, 9
_RESET_STYLE = {22: (BOLD, DIM), 23: (ITALIC,), 24: (UNDERLINE,), 27: (INVERSE,), 29: (STRIKE,)}
_STYLE_CLASS = {BOLD: "b", DIM: "d", ITALIC: "i", UNDERLINE: "u", INVERSE: "v", STRIKE: "s"}
_EXTENDED_FG, _EXTENDED_BG = 38, 48
_CUBE_LEVELS = (0, 95, 135, 175, 215, 255)


@dataclass(frozen=True, slots=True)
class Style:
    """The current SGR state: a colour is a palette index (0-15) as ``"c3"`` or ``"#rrggbb"``."""

    fg: str | None = None
    bg: str | None = None
    flags: frozenset[int] = frozenset()

    def open_tag(self) -> str:
        classes = [f"a-{_STYLE_CLASS[f]}" for f in sorted(self.flags)]
        styles = []
        for prefix, value, prop in (("f", self.fg, "color"), ("g", self.bg, "background-color")):
            if value is None:
                continue
            if value.startswith("#"):
                styles.append(f"{prop}:{value}")
            else:
                classes.append(f"a-{prefix}{value[1:]}")
        attrs = f' class="{" ".join(classes)}"' if classes else ""
        attrs += f' style="{";".join(styles)}"' if styles else ""
        return f"<span{attrs}>"

    @property
    def plain(self) -> bool:
        return self.fg is None and self.bg is None and not self.flags


PLAIN = Style()


def palette_256(index: int) -> str:
    """The xterm 256-colour palette: 0-15 stay classes (themeable), the rest are fixed RGB."""
    if index < 16:  # noqa: PLR2004
        return f"c{index}"
    if index < 232:  # noqa: PLR2004
        n = index - 16
        r, g, b = _CUBE_LEVELS[n // 36], _CUBE_LEVELS[(n // 6) % 6], _CUBE_LEVELS[n % 6]
        return f"#{r:02x}{g:02x}{b:02x}"
    level = 8 + (index - 232) * 10
    return f"#{level:02x}{level:02x}{level:02x}"


def apply_sgr(style: Style, params: str) -> Style:
    """The style after one ``ESC [ params m`` sequence."""
    codes = [int(p) if p.isdigit() else 0 for p in re.split(r"[;:]", params)] if params else [0]
    i = 0
    while i < len(codes):
        code = codes[i]
        i += 1
        if code in (_EXTENDED_FG, _EXTENDED_BG):
            color, i = _extended_color(codes, i)
            if color is not None and code == _EXTENDED_FG:
                style = replace(style, fg=color)
            elif color is not None:
                style = replace(style, bg=color)
        else:
            style = _simple_sgr(style, code)
    return style


def _extended_color(codes: list[int], i: int) -> tuple[str | None, int]:
    kind = codes[i] if i < len(codes) else None
    if kind == 5 and i + 1 < len(codes):  # noqa: PLR2004
        return palette_256(min(codes[i + 1], 255)), i + 2
    if kind == 2 and i + 3 < len(codes):  # noqa: PLR2004
        r, g, b = (min(c, 255) for c in codes[i + 1 : i + 4])
        return f"#{r:02x}{g:02x}{b:02x}", i + 4
    return None, len(codes)


def _simple_sgr(style: Style, code: int) -> Style:
    if code == 0:
        return PLAIN
    if code in _STYLE_CLASS:
        return replace(style, flags=style.flags | {code})
    if code in _RESET_STYLE:
        return replace(style, flags=style.flags - set(_RESET_STYLE[code]))
    if 30 <= code <= 37:  # noqa: PLR2004
        return replace(style, fg=f"c{code - 30}")
    if 90 <= code <= 97:  # noqa: PLR2004
        return replace(style, fg=f"c{code - 90 + 8}")
    if code == 39:  # noqa: PLR2004
        return replace(style, fg=None)
    if 40 <= code <= 47:  # noqa: PLR2004
        return replace(style, bg=f"c{code - 40}")
    if 100 <= code <= 107:  # noqa: PLR2004
        return replace(style, bg=f"c{code - 100 + 8}")
    if code == 49:  # noqa: PLR2004
        return replace(style, bg=None)
    return style


class AnsiRenderer:
    """Feed it text in order; each call returns HTML for that text with spans balanced."""

    def __init__(self) -> None:
        self.style = PLAIN

    def feed(self, text: str) -> str:
        lines = text.split("\n")
        return "\n".join(self._line(line) for line in lines)

    def _line(self, line: str) -> str:
        *overwritten, visible = line.removesuffix("\r").split("\r")
        for segment in overwritten:  # a terminal would overwrite these; only their styles remain
            self._segment(segment)
        return self._segment(visible)

    def _segment(self, text: str) -> str:
        runs: list[tuple[Style, str]] = []
        pos = 0
        for match in _ESCAPE.finditer(text):
            runs.append((self.style, text[pos : match.start()]))
            pos = match.end()
            if match.group(2) == "m":
                self.style = apply_sgr(self.style, match.group(1) or "")
        runs.append((self.style, text[pos:]))
        return "".join(_span(style, chunk) for style, chunk in runs if chunk)


def _span(style: Style, text: str) -> str:
    escaped = _escape(text)
    if style.plain or not escaped:
        return escaped
    return f"{style.open_tag()}{escaped}</span>"


def _escape(text: str) -> str:
    return html.escape(_CONTROL.sub("", text), quote=False)


def ansi_to_html(text: str) -> str:
    """Render one piece of terminal output on its own (the style starts plain)."""
    return AnsiRenderer().feed(text)
