"""Log throughput: one step prints SIZE_MB of 100-byte lines through the runner to ``circlet serve``
(SQLite, one built-in runner). Reports the step's MB/s next to a raw asyncio pipe read (64 KiB
chunks) of the same command, the RSS of the server and runner processes (before, and peak while
the steps run) and the CPU seconds each used from the trigger to the workflow's end.

The pipeline runs RUNS times on one server, each run just after a raw read of its own; the ratio
reported is the median of the runs' ratios (a single run's swings by a third on a shared machine).
Each run's log file is deleted once measured: on this project's reference machine (a VM) page cache
that was never used before costs about six times the CPU to write (``dd`` of 200 MB: 0.08 s, then
0.5-0.6 s for each further 200 MB), so without it every run would measure more of the VM than of
circlet, and the raw read it is compared with writes no file at all.

Usage: .venv/bin/python bench/log_throughput.py [--size-mb 200] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _serve import cpu_s, find_runner, make_repo, prepare, rss_mib, start_serve, stop, wait_pipeline

LINE = "x" * 99  # + newline = 100 bytes
SETTLE_S = 10.0  # seconds for the runner child to start before its RSS is read


def command(size_mb: int) -> str:
    return f"(yes {LINE} || true) | head -c {size_mb * 1_000_000}"


async def raw_pipe_mb_s(size_mb: int) -> float:
    read_fd, write_fd = os.pipe()
    proc = await asyncio.create_subprocess_exec("/bin/bash", "-c", command(size_mb), stdout=write_fd)
    os.close(write_fd)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**17)
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(read_fd, "rb", buffering=0)
    )
    started, total = time.monotonic(), 0
    while chunk := await reader.read(65536):
        total += len(chunk)
    took = time.monotonic() - started
    transport.close()
    await proc.wait()
    return total / 1e6 / took


async def run(tmp: Path, size_mb: int, runs: int) -> dict[str, object]:
    config = (
        "version: 2.1\njobs:\n  loud:\n    machine: true\n    steps:\n"
        f"      - run:\n          name: print\n          command: {command(size_mb)}\n"
        "workflows:\n  main:\n    jobs: [loud]\n"
    )
    token = await prepare(tmp / "data", make_repo(tmp / "repo", config))
    proc, url = start_serve(tmp / "data", token, 1)
    measured: list[dict[str, object]] = []
    try:
        runner_pid = await find_runner(proc.pid)
        await asyncio.sleep(SETTLE_S)  # the runner child imports and makes its first claim
        before = {"server": rss_mib(proc.pid), "runner": rss_mib(runner_pid)}
        peak = dict(before)
        async with httpx.AsyncClient(base_url=url, headers={"Circle-Token": token}, timeout=120) as http:
            for _ in range(runs):
                raw = await raw_pipe_mb_s(size_mb)
                cpu_before = {"server": cpu_s(proc.pid), "runner": cpu_s(runner_pid)}
                pipeline = (await http.post("/api/v2/project/gh/bench/app/pipeline", json={})).json()
                waiting = asyncio.create_task(wait_pipeline(http, pipeline["id"], 0.2))
                while not waiting.done():
                    peak = {
                        "server": max(peak["server"], rss_mib(proc.pid)),
                        "runner": max(peak["runner"], rss_mib(runner_pid)),
                    }
                    await asyncio.sleep(0.05)
                (workflow,) = waiting.result()
                cpu = {
                    "server": cpu_s(proc.pid) - cpu_before["server"],
                    "runner": cpu_s(runner_pid) - cpu_before["runner"],
                }
                (job,) = (await http.get(f"/api/v2/workflow/{workflow['id']}/job")).json()["items"]
                build = (await http.get(f"/api/v1.1/project/gh/bench/app/{job['job_number']}")).json()
                action = build["steps"][0]["actions"][0]
                took = (_time(action["end_time"]) - _time(action["start_time"])).total_seconds()
                logs = list((tmp / "data" / "logs").rglob(f"{job['id']}.*.log"))
                size = max(p.stat().st_size for p in logs)
                for log in logs:  # see the docstring: every run writes into page cache freed before
                    log.unlink()
                measured.append(
                    {
                        "stored_bytes": size,
                        "step_s": round(took, 2),
                        "step_mb_s": round(size / 1e6 / took, 1),
                        "raw_pipe_mb_s": round(raw, 1),
                        "ratio_to_raw": round(size / 1e6 / took / raw, 2),
                        "cpu_s": {k: round(v, 2) for k, v in cpu.items()},
                        "status": workflow["status"],
                    }
                )
    finally:
        stop(proc)
    return {
        "size_mb": size_mb,
        "runs": runs,
        "ratio_to_raw_median": statistics.median(float(str(m["ratio_to_raw"])) for m in measured),
        "step_mb_s_median": statistics.median(float(str(m["step_mb_s"])) for m in measured),
        "raw_pipe_mb_s_median": statistics.median(float(str(m["raw_pipe_mb_s"])) for m in measured),
        "rss_before_mib": {k: round(v, 1) for k, v in before.items()},
        "rss_peak_mib": {k: round(v, 1) for k, v in peak.items()},
        "rss_growth_mib": {k: round(peak[k] - before[k], 1) for k in before},
        "statuses": sorted({str(m["status"]) for m in measured}),
        "each_run": measured,
    }


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="circlet-bench-") as tmp:
        print(json.dumps(asyncio.run(run(Path(tmp), args.size_mb, args.runs)), indent=2))


if __name__ == "__main__":
    main()
