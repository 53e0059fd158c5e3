"""Pages of a step's output: byte ranges cut at line ends, rendered from ANSI to HTML.

A page never splits a line while the step still writes (the rest of the line comes with the next
page), so colours and escape sequences are not cut in half.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from circlet.model.pipelines import Step
from circlet.web.ansi import ansi_to_html

PAGE_BYTES = 128 * 1024  # bytes per page of output sent to the browser


class LogReader(Protocol):
    async def read(
        self, job_id: str, node_index: int, step_index: int, *, offset: int = 0, limit: int = -1
    ) -> bytes: ...

    def size(self, job_id: str, node_index: int, step_index: int) -> int: ...


@dataclass(frozen=True, slots=True)
class OutputPage:
    html: str
    start: int  #: first byte shown
    end: int  #: one past the last byte shown
    size: int  #: bytes stored so far
    done: bool  #: the step has finished and nothing after ``end`` remains

    def as_json(self) -> dict[str, Any]:
        return {"html": self.html, "start": self.start, "end": self.end, "size": self.size, "done": self.done}


def cut(data: bytes, *, at_start: bool, at_end: bool) -> tuple[int, int]:
    """Trim ``data`` to whole lines: skip a partial first line unless ``at_start``, and a partial
    last line unless ``at_end``. Returns (skip, keep_until); a single long line is kept whole."""
    skip = 0
    if not at_start:
        first = data.find(b"\n")
        skip = first + 1 if first != -1 else 0
    until = len(data)
    if not at_end:
        last = data.rfind(b"\n")
        if last >= skip:
            until = last + 1
    return skip, until


async def read_page(
    logs: LogReader,
    step: Step,
    *,
    offset: int = 0,
    before: int | None = None,
    tail: bool = False,
    running: bool,
    page_bytes: int = PAGE_BYTES,
) -> OutputPage:
    """One page of output: from ``offset`` (a previous page's ``end``), the page that ends at
    ``before`` (scrolling back), or the last page (``tail``)."""
    size = logs.size(step.job_id, step.node_index, step.step_index)
    if before is not None:
        stop = max(0, min(before, size))
        start = max(0, stop - page_bytes)
    elif tail:
        stop = size
        start = max(0, size - page_bytes)
    else:
        start = max(0, min(offset, size))
        stop = min(size, start + page_bytes)
    data = await logs.read(step.job_id, step.node_index, step.step_index, offset=start, limit=stop - start)
    forward = before is None and not tail
    at_end = before is not None or (stop == size and not running)
    skip, until = cut(data, at_start=start == 0 or forward, at_end=at_end)
    text = data[skip:until].decode("utf-8", errors="replace")
    first, last = start + skip, start + until
    return OutputPage(ansi_to_html(text), first, last, size, done=not running and last >= size)
