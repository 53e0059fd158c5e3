"""Helpers for compiler tests: compile text for a branch or tag, with the fixture orbs."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Any

from circlet.compiler import DictOrbSource, compile_config
from circlet.model.configs import CompiledConfig, WorkflowPlan

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
ORB_DIR = FIXTURES / "orbs"
REPO = Path(__file__).resolve().parents[3]


def _corpus() -> Path:
    """The shared corpus of real configs: ``shared/`` beside the clone (as CI lays it out), or
    ``$CIRCLET_CORPUS_DIR``."""
    candidates = [Path(os.environ["CIRCLET_CORPUS_DIR"])] if os.environ.get("CIRCLET_CORPUS_DIR") else []
    candidates += [REPO.parent / "shared" / "corpus" / "configs", Path("/work/shared/corpus/configs")]
    return next((c for c in candidates if c.is_dir()), candidates[0])


CORPUS = _corpus()
if os.environ.get("CI") and not CORPUS.is_dir():  # CI must check the corpus, never skip it
    raise RuntimeError(
        f"the shared corpus of configs is missing (looked in {CORPUS}); set CIRCLET_CORPUS_DIR"
    )


def fixture_orbs() -> DictOrbSource:
    source = DictOrbSource()
    for path in sorted(ORB_DIR.glob("*/*@*.yml")):
        source.add(f"{path.parent.name}/{path.stem}", path.read_text())
    return source


def values(branch: str = "main", tag: str = "", **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "pipeline.id": "4b1d7c1e-0000-4000-8000-000000000001",
        "pipeline.number": 7,
        "pipeline.git.branch": branch,
        "pipeline.git.tag": tag,
        "pipeline.trigger_source": "webhook",
        "pipeline.project.type": "github",
        "pipeline.project.slug": "gh/acme/app",
    }
    out.update({f"pipeline.{k.replace('__', '.')}": v for k, v in extra.items()})
    return out


def compile_text(
    text: str,
    *,
    branch: str = "main",
    tag: str = "",
    parameters: dict[str, Any] | None = None,
    orbs: DictOrbSource | None = None,
    extra_values: dict[str, Any] | None = None,
) -> CompiledConfig:
    vals = values(branch, tag)
    vals.update(extra_values or {})
    return compile_config(
        textwrap.dedent(text), values=vals, parameters=parameters or {}, orbs=orbs or DictOrbSource()
    )


def workflow(config: CompiledConfig, name: str) -> WorkflowPlan:
    return next(flow for flow in config.workflows if flow.name == name)


def runs(config: CompiledConfig, name: str) -> dict[str, bool]:
    return {job.name: job.runs for job in workflow(config, name).jobs}


def inject_inline_orbs(text: str) -> str:
    """Fill empty inline-orb placeholders (``docker: {}``) the way orb-tools does before continuing."""
    for path in sorted((ORB_DIR / "inline").glob("*.yml")):
        body = "\n".join("    " + line for line in path.read_text().splitlines() if not line.startswith("#"))
        text = text.replace(f"  {path.stem}: {{}}\n", f"  {path.stem}:\n{body}\n")
    return text
