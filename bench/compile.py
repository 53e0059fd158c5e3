"""Compile every corpus config 20 times; print the median CPU time per file and in total.

Columns: "full" (with schema warnings, as ``circlet config validate``), "no schema" (as the server
compiles), "cold" (no schema, with the compiler's string caches cleared before each compile: text never
seen before; parsed orbs are kept, as a server keeps them) and "first run". The baseline line is
libyaml (``yaml.CSafeLoader``) parsing the same 27 files into events, measured in the same run, so the ratio
"no schema / baseline" can be compared across runs on a machine whose load changes.

Run: .venv/bin/python bench/compile.py [CORPUS_DIR]
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import yaml

from circlet.compiler import DictOrbSource, compile_config
from circlet.compiler.api import clear_caches

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


def measure(text: str, orbs: DictOrbSource, *, check_schema: bool, cold: bool = False) -> tuple[float, float]:
    """(median, first) CPU time of one compile in ms; the first run parses the file's orbs (later runs
    reuse them). CPU time, not wall time, so other work on a shared machine inflates the figures less."""
    timings = []
    for _ in range(RUNS):
        if cold:
            clear_caches()
        start = time.thread_time()
        compile_config(text, values=VALUES, parameters={}, orbs=orbs, check_schema=check_schema)
        timings.append((time.thread_time() - start) * 1000)
    return statistics.median(timings), timings[0]


def baseline(texts: list[str]) -> float:
    """Median CPU time in ms for libyaml to parse all ``texts`` once (the same machine, the same run)."""
    timings = []
    for _ in range(RUNS):
        start = time.thread_time()
        for text in texts:
            for _event in yaml.parse(text, Loader=yaml.CSafeLoader):
                pass
        timings.append((time.thread_time() - start) * 1000)
    return statistics.median(timings)


def main() -> None:
    orbs = orb_source()
    compile_config(
        "version: 2.1\njobs: {build: {docker: [{image: x}], steps: [checkout]}}\n",
        values=VALUES,
        parameters={},
        orbs=orbs,
    )  # one-time set-up (schema checker)
    rows: dict[str, tuple[float, ...]] = {}
    texts = []
    for path in sorted(CORPUS.glob("*.yml")):
        text = with_inline_orbs(path.read_text())
        texts.append(text)
        full, first = measure(text, orbs, check_schema=True)
        bare, _ = measure(text, orbs, check_schema=False)
        cold, _ = measure(text, orbs, check_schema=False, cold=True)
        rows[path.name] = (full, bare, cold, first)
    base = baseline(texts)
    width = max(len(name) for name in rows)
    heads = ("full", "no schema", "cold", "first run")
    print(f"{'file (median of ' + str(RUNS) + ' runs)':<{width}}" + "".join(f"  {h:>10}" for h in heads))
    for name, cols in rows.items():
        print(f"{name:<{width}}" + "".join(f"  {c:7.2f} ms" for c in cols))
    for label, pick in (("median of files", statistics.median), ("largest", max), ("total (one pass)", sum)):
        cols = tuple(pick(r[i] for r in rows.values()) for i in range(len(heads)))
        print(f"{label:<{width}}" + "".join(f"  {c:7.2f} ms" for c in cols))
    total_bare = sum(r[1] for r in rows.values())
    print(f"{'baseline: libyaml parses all files':<{width}}  {base:7.2f} ms")
    print(f"{'ratio: no schema total / baseline':<{width}}  {total_bare / base:7.2f}")


if __name__ == "__main__":
    main()
