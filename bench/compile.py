"""Compile every corpus config 20 times; print the median per file and in total.

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


def measure(text: str, orbs: DictOrbSource, *, check_schema: bool) -> float:
    timings = []
    for _ in range(RUNS):
        start = time.perf_counter()
        compile_config(text, values=VALUES, parameters={}, orbs=orbs, check_schema=check_schema)
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)


def main() -> None:
    orbs = orb_source()
    rows: dict[str, tuple[float, float]] = {}
    for path in sorted(CORPUS.glob("*.yml")):
        text = with_inline_orbs(path.read_text())
        rows[path.name] = (measure(text, orbs, check_schema=True), measure(text, orbs, check_schema=False))
    width = max(len(name) for name in rows)
    print(f"{'file (median of ' + str(RUNS) + ' runs)':<{width}}  {'full':>10}  {'no schema':>10}")
    for name, (full, bare) in rows.items():
        print(f"{name:<{width}}  {full:7.2f} ms  {bare:7.2f} ms")
    for label, pick in (("median of files", statistics.median), ("largest", max), ("total (one pass)", sum)):
        full = pick(r[0] for r in rows.values())
        bare = pick(r[1] for r in rows.values())
        print(f"{label:<{width}}  {full:7.2f} ms  {bare:7.2f} ms")


if __name__ == "__main__":
    main()
