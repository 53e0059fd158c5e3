"""ANSI to HTML: colours and styles become spans, everything else is escaped or dropped."""

from __future__ import annotations

import pytest

from circlet.web.ansi import AnsiRenderer, ansi_to_html, palette_256


def test_plain_text_is_escaped() -> None:
    assert ansi_to_html("<script>&") == "&lt;script&gt;&amp;"


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("\x1b[31mred\x1b[0m", '<span class="a-f1">red</span>'),
        ("\x1b[1;32mok\x1b[m", '<span class="a-b a-f2">ok</span>'),
        ("\x1b[92mbright\x1b[39m plain", '<span class="a-f10">bright</span> plain'),
        ("\x1b[44mbg\x1b[49m", '<span class="a-g4">bg</span>'),
        ("\x1b[4munder\x1b[24m", '<span class="a-u">under</span>'),
        ("\x1b[38;5;208mx", '<span style="color:#ff8700">x</span>'),
        ("\x1b[38;5;3mx", '<span class="a-f3">x</span>'),
        ("\x1b[48;2;1;2;3mx", '<span style="background-color:#010203">x</span>'),
        ("\x1b[1mbold\x1b[22m not", '<span class="a-b">bold</span> not'),
    ],
)
def test_sgr_sequences(text: str, html: str) -> None:
    assert ansi_to_html(text) == html


def test_other_sequences_and_controls_are_dropped() -> None:
    assert ansi_to_html("\x1b[2K\x1b[1Gdone\x1b]0;title\x07!\x07") == "done!"


def test_carriage_return_keeps_the_last_state_of_a_line() -> None:
    assert ansi_to_html("10%\r50%\r100%\nnext") == "100%\nnext"
    assert ansi_to_html("line\r\n") == "line\n"


def test_style_carries_across_lines_and_chunks() -> None:
    renderer = AnsiRenderer()
    first = renderer.feed("\x1b[33mwarn\nstill")
    second = renderer.feed(" yellow\x1b[0m done")
    assert first == '<span class="a-f3">warn</span>\n<span class="a-f3">still</span>'
    assert second == '<span class="a-f3"> yellow</span> done'


def test_empty_spans_are_not_written() -> None:
    assert ansi_to_html("\x1b[31m\x1b[0m") == ""


def test_palette_256_cube_and_greys() -> None:
    assert palette_256(16) == "#000000"
    assert palette_256(231) == "#ffffff"
    assert palette_256(232) == "#080808"
    assert palette_256(9) == "c9"
