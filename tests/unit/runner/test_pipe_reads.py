"""A step's output pipe is read in few, large reads when the step prints fast, and at once when it
prints a little."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from circlet.runner.executor import Limits, run_process

FAST = "head -c 20000000 /dev/zero"  # 20 MB as fast as the step can write them


async def _read(command: str, tmp_path: Path) -> tuple[list[int], list[float]]:
    sizes: list[int] = []
    arrivals: list[float] = []

    async def sink(chunk: bytes) -> None:
        sizes.append(len(chunk))
        arrivals.append(time.monotonic())

    result = await run_process(
        ["/bin/bash", "-c", command],
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"]},
        sink=sink,
        limits=Limits(),
        abort=asyncio.Event(),
    )
    assert result.exit_code == 0
    return sizes, arrivals


async def test_a_fast_writer_is_read_in_large_chunks(tmp_path: Path) -> None:
    sizes, _ = await _read(FAST, tmp_path)
    assert sum(sizes) == 20_000_000
    # without letting the pipe fill between reads, a reader as fast as the writer takes a few KiB
    # per read (tens of thousands of reads for this step); each read costs a wake-up and a sink call
    assert len(sizes) < 20_000_000 // (48 * 1024), sorted(sizes)[:: max(1, len(sizes) // 20)]


async def test_a_slow_writer_is_read_as_it_writes(tmp_path: Path) -> None:
    started = time.monotonic()
    sizes, arrivals = await _read("echo one; sleep 0.3; echo two", tmp_path)
    assert sizes == [4, 4]
    assert arrivals[0] - started < 0.25  # the first line did not wait for the second
