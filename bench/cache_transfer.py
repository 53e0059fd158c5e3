"""save_cache / restore_cache of a large cache through ``circlet serve`` and its built-in runner.

Starts ``circlet serve`` (SQLite, one built-in runner process) on a free port with a temp data dir. One
pipeline: ``save`` writes SIZE_MB of random bytes (incompressible: the worst case for gzip) and saves
them as a cache; ``restore`` (requires save) restores it and checks the checksum. Prints each storage
step's duration and MB/s, next to ``cat`` of the same bytes into a file, and the peak RSS of the server
and runner processes (sampled every 20 ms) against their RSS before the pipeline.

Then, in this process, ``circlet.runner.archives`` alone on the same bytes and on a real dependency
tree (``--tree``, default this interpreter's site-packages, at most --tree-mb): create and extract each
as tar+gzip (the fallback, and what older runners wrote) and tar+zstd (what runners write now), so both
formats are measured in the same run on the same data.

Usage: .venv/bin/python bench/cache_transfer.py [--size-mb 200] [--tree DIR] [--tree-mb 150]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import trigger_to_done as common

CONFIG = """\
version: 2.1
jobs:
  save:
    docker: [{{image: cimg/base:stable}}]
    steps:
      - run: mkdir -p data && head -c {size}M /dev/urandom > data/blob && sha256sum data/blob > ~/sum
      - save_cache: {{key: "big-{{{{ .BuildNum }}}}", paths: [data]}}
      - persist_to_workspace: {{root: "~", paths: [sum]}}
  restore:
    docker: [{{image: cimg/base:stable}}]
    steps:
      - attach_workspace: {{at: "~"}}
      - restore_cache: {{key: big-}}
      - run: sha256sum -c ~/sum
workflows:
  main:
    jobs: [save, {{restore: {{requires: [save]}}}}]
"""
SAMPLE_S = 0.02  # seconds between RSS samples
RUN_TIMEOUT_S = 600.0  # seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--tree", type=Path, default=Path(sysconfig.get_paths()["purelib"]))
    parser.add_argument("--tree-mb", type=int, default=150)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="circlet-bench-") as tmp:
        result = run_bench(Path(tmp), args.size_mb)
        result["archive_alone"] = archive_alone(Path(tmp), args.tree, args.tree_mb)
        print(json.dumps(result, indent=2))


def archive_alone(tmp: Path, tree: Path, tree_mb: int) -> dict[str, object]:
    """create_archive / extract_archive of the random blob and of a real tree, per format."""
    from circlet.runner import archives

    blob = tmp / "blob"
    picked = _pick_files(tree, tree_mb * 1024 * 1024)
    data_sets = {
        "random": ([(blob, "blob")], blob.stat().st_size),
        "tree": (
            [(path, str(path.relative_to(tree))) for path in picked],
            sum(p.stat().st_size for p in picked),
        ),
    }
    result: dict[str, object] = {}
    for data, (entries, size) in data_sets.items():
        mb = size / 1e6
        for archive_format in archives.readable_formats():  # the formats this runner has
            dest, out = tmp / "a.tar", tmp / "out"
            started = time.perf_counter()
            written = archives.create_archive(dest, entries, archive_format)
            create_s = time.perf_counter() - started
            started = time.perf_counter()
            archives.extract_archive(dest, archive_format, archives.into(out))
            extract_s = time.perf_counter() - started
            result[f"{data}/{archive_format}"] = {
                "input_mb": round(mb, 1),
                "create_s": round(create_s, 2),
                "create_mb_s": round(mb / create_s, 1),
                "extract_s": round(extract_s, 2),
                "ratio": round(written.size_bytes / size, 3),
            }
            dest.unlink()
            shutil.rmtree(out)
    return result


def _pick_files(tree: Path, limit: int) -> list[Path]:
    picked: list[Path] = []
    total = 0
    for path in sorted(tree.rglob("*")):
        if path.is_file() and not path.is_symlink():
            picked.append(path)
            total += path.stat().st_size
            if total >= limit:
                break
    return picked


def run_bench(tmp: Path, size_mb: int) -> dict[str, object]:
    repo = tmp / "repo"
    (repo / ".circleci").mkdir(parents=True)
    (repo / ".circleci" / "config.yml").write_text(CONFIG.format(size=size_mb))
    for argv in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "bench"]):
        subprocess.run(["git", *argv], cwd=repo, env=common.GIT_ENV, check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIRCLET_")}
    env["CIRCLET_DATA_DIR"] = str(tmp / "data")
    token = common.cli(env, "user", "create", "bench", "--org", "gh/bench")
    common.cli(env, "project", "add", "gh/bench/hello", "--repo", str(repo))
    port = common.free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "circlet", "serve", "--port", str(port), "--runners", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers={"Circle-Token": token}, timeout=30
        ) as client:
            common.wait_ready(
                httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v2", headers={"Circle-Token": token}),
                server,
            )
            time.sleep(2.0)
            before = _rss_by_process(server.pid)
            peaks: dict[int, float] = {}
            stop = threading.Event()
            sampler = threading.Thread(target=_sample, args=(server.pid, peaks, stop), daemon=True)
            sampler.start()
            steps = _run(client)
            stop.set()
            sampler.join()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
    raw = _cat_mb_s(tmp, size_mb)
    result: dict[str, object] = {"size_mb": size_mb, "raw_cat_to_file_mb_s": raw}
    for name, seconds in steps.items():
        result[f"{name}_s"] = round(seconds, 2)
        result[f"{name}_mb_s"] = round(size_mb / seconds, 1)
    result["rss_before_mb"] = {str(pid): round(mb, 1) for pid, mb in before.items()}
    result["rss_peak_mb"] = {str(pid): round(mb, 1) for pid, mb in peaks.items()}
    return result


def _run(client: httpx.Client) -> dict[str, float]:
    response = client.post("/api/v2/project/gh/bench/hello/pipeline", json={"branch": "main"})
    response.raise_for_status()
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        items = client.get(f"/api/v2/pipeline/{response.json()['id']}/workflow").json()["items"]
        if items and items[0]["status"] not in ("running", "on_hold", "failing"):
            if items[0]["status"] != "success":
                raise RuntimeError(f"workflow ended {items[0]['status']}")
            break
        time.sleep(0.2)
    durations = {}
    for number in (1, 2):
        build = client.get(f"/api/v1.1/project/gh/bench/hello/{number}").json()
        for step in build["steps"]:
            action = step["actions"][0]
            if step["name"] in ("Saving Cache", "Restoring Cache"):
                started = datetime.fromisoformat(action["start_time"].replace("Z", "+00:00"))
                ended = datetime.fromisoformat(action["end_time"].replace("Z", "+00:00"))
                durations[step["name"].lower().replace(" ", "_")] = (ended - started).total_seconds()
    return durations


def _rss_by_process(root: int) -> dict[int, float]:
    result = {}
    try:
        children = common.descendants(root)
    except OSError:  # a process ended while the tree was read
        children = []
    for pid in [root, *children]:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        rss_kb = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
        if rss_kb > 20 * 1024:  # python processes; skips job shells
            result[pid] = rss_kb / 1024
    return result


def _sample(root: int, peaks: dict[int, float], stop: threading.Event) -> None:
    while not stop.is_set():
        for pid, mb in _rss_by_process(root).items():
            peaks[pid] = max(peaks.get(pid, 0.0), mb)
        time.sleep(SAMPLE_S)


def _cat_mb_s(tmp: Path, size_mb: int) -> float:
    blob = tmp / "blob"
    subprocess.run(["head", "-c", f"{size_mb}M", "/dev/urandom"], stdout=blob.open("wb"), check=True)
    started = time.perf_counter()
    subprocess.run(f"cat {blob} > {tmp / 'copy'}", shell=True, check=True)
    return round(size_mb / (time.perf_counter() - started), 1)


if __name__ == "__main__":
    main()
