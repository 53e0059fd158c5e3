"""Compile every corpus config 20 times; print the median CPU time per file and in total.

Run: .venv/bin/python bench/compile.py [CORPUS_DIR]
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from circlet.compiler import DictOrbSource, compile_config

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/work/shared/corpus/configs")
ORB_DIR = ROOT / "tests" / "fixtures" / "orbs"
RUNS = 20
VALUES = {"pipeline.git.branch": "main", "pipeline.number": 1, "pipeline.trigger_source": "webhook"}


def orb_source() -> DictOrbSource:
    source = DictOrbSource()
    for path in sorted(ORB_DIR.glob("*/*@*.yml")):
        source.add(f"{path.parent.name}/{path.stem}", path.read_text())
    return source


def with_inline_orbs(text: str) -> str:
    for path in sorted((ORB_DIR / "inline").glob("*.yml")):
        body = "\n".join("    " + line for line in path.read_text().splitlines() if not line.startswith("#"))
        text = text.replace(f"  {path.stem}: {{}}\n", f"  {path.stem}:\n{body}\n")
    return text


def measure(text: str, orbs: DictOrbSource, *, check_schema: bool) -> tuple[float, float]:
    """(median, first) CPU time of one compile in ms; the first run parses the file's orbs (later runs
    reuse them). CPU time, not wall time, so other work on a shared machine inflates the figures less."""
    timings = []
    for _ in range(RUNS):
        start = time.thread_time()
        compile_config(text, values=VALUES, parameters={}, orbs=orbs, check_schema=check_schema)
        timings.append((time.thread_time() - start) * 1000)
    return statistics.median(timings), timings[0]


def main() -> None:
    orbs = orb_source()
    compile_config(
        "version: 2.1\njobs: {build: {docker: [{image: x}], steps: [checkout]}}\n",
        values=VALUES,
        parameters={},
        orbs=orbs,
    )  # one-time set-up (schema checker)
    rows: dict[str, tuple[float, float, float]] = {}
    for path in sorted(CORPUS.glob("*.yml")):
        text = with_inline_orbs(path.read_text())
        full, first = measure(text, orbs, check_schema=True)
        bare, _ = measure(text, orbs, check_schema=False)
        rows[path.name] = (full, bare, first)
    width = max(len(name) for name in rows)
    print(
        f"{'file (median of ' + str(RUNS) + ' runs)':<{width}}  {'full':>10}  {'no schema':>10}  {'first run':>10}"
    )
    for name, (full, bare, first) in rows.items():
        print(f"{name:<{width}}  {full:7.2f} ms  {bare:7.2f} ms  {first:7.2f} ms")
    for label, pick in (("median of files", statistics.median), ("largest", max), ("total (one pass)", sum)):
        cols = [pick(r[i] for r in rows.values()) for i in range(3)]
        print(f"{label:<{width}}  {cols[0]:7.2f} ms  {cols[1]:7.2f} ms  {cols[2]:7.2f} ms")


if __name__ == "__main__":
    main()
