"""A fake circlet server for runner tests: an ``httpx.MockTransport`` handler that hands out
assignments and records every runner call."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from circlet.protocol import LEASE_HEADER, StepSpec, TaskAssignment

TOKEN = "runner-token-123"
_TASK_CALL = re.compile(r"^/runner/v1/tasks/(?P<task>[^/]+)(?P<rest>/.*)$")
_STEP_CALL = re.compile(r"^/steps/(?P<index>\d+)/(?P<kind>start|output|finish)$")
_ids = itertools.count(1)


@dataclass
class StepRecord:
    index: int
    start: dict[str, Any] = field(default_factory=dict)  # empty until reported
    finish: dict[str, Any] = field(default_factory=dict)
    output: bytearray = field(default_factory=bytearray)
    uploads: list[tuple[int, int]] = field(default_factory=list)  # (offset, size)

    @property
    def text(self) -> str:
        return self.output.decode(errors="replace")

    @property
    def status(self) -> str | None:
        return self.finish.get("status")


@dataclass
class TaskRecord:
    assignment: TaskAssignment
    steps: dict[int, StepRecord] = field(default_factory=dict)
    finish: dict[str, Any] | None = None
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    step_started: asyncio.Event = field(default_factory=asyncio.Event)
    heartbeats: int = 0
    cancel: bool = False
    lease_lost: bool = False

    @property
    def status(self) -> str | None:
        return None if self.finish is None else str(self.finish["status"])

    def step(self, index: int) -> StepRecord:
        return self.steps[index]


class FakeServer:
    def __init__(self) -> None:
        self.pending: list[TaskAssignment] = []
        self.tasks: dict[str, TaskRecord] = {}
        self.calls: list[tuple[str, str]] = []
        self.claims = 0
        self.fail_after_output = 0  # answer 503 to this many output uploads after storing them

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def add(self, assignment: TaskAssignment) -> TaskRecord:
        self.pending.append(assignment)
        record = TaskRecord(assignment)
        self.tasks[assignment["task_id"]] = record
        return record

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.calls.append((request.method, request.url.path))
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return httpx.Response(401, json={"message": "bad token"})
        if request.url.path == "/runner/v1/claim":
            return self._claim(request)
        match = _TASK_CALL.match(request.url.path)
        if match is None:
            return httpx.Response(404, json={"message": "no route"})
        record = self.tasks[match["task"]]
        if record.lease_lost or request.headers.get(LEASE_HEADER) != record.assignment["lease_id"]:
            return httpx.Response(409, json={"message": "stale lease"})
        return self._task_call(record, match["rest"], request)

    def _claim(self, request: httpx.Request) -> httpx.Response:
        self.claims += 1
        body = json.loads(request.content)
        assert body["resource_class"] == "acme/host"
        if not self.pending:
            return httpx.Response(204)
        return httpx.Response(200, json=self.pending.pop(0))

    def _task_call(self, record: TaskRecord, rest: str, request: httpx.Request) -> httpx.Response:
        if rest == "/heartbeat":
            record.heartbeats += 1
            return httpx.Response(200, json={"cancel": record.cancel})
        if rest == "/finish":
            record.finish = json.loads(request.content)
            record.finished.set()
            return httpx.Response(200, json={})
        match = _STEP_CALL.match(rest)
        assert match is not None, rest
        index = int(match["index"])
        step = record.steps.setdefault(index, StepRecord(index))
        if match["kind"] == "start":
            step.start = json.loads(request.content)
            record.step_started.set()
        elif match["kind"] == "finish":
            step.finish = json.loads(request.content)
        else:
            response = self._output(step, int(request.url.params["offset"]), request.content)
            if self.fail_after_output > 0:
                self.fail_after_output -= 1
                return httpx.Response(503, json={"message": "try again"})
            return response
        return httpx.Response(200, json={})

    def _output(self, step: StepRecord, offset: int, data: bytes) -> httpx.Response:
        step.uploads.append((offset, len(data)))
        if offset == len(step.output):
            step.output += data
        elif step.output[offset : offset + len(data)] != data:
            return httpx.Response(409, json={"message": "offset mismatch"})
        return httpx.Response(200, json={})


def make_assignment(*steps: StepSpec, **overrides: Any) -> TaskAssignment:
    n = next(_ids)
    assignment = TaskAssignment(
        task_id=f"task-{n}",
        lease_id=f"lease-{n}",
        lease_s=60.0,
        heartbeat_interval_s=0.1,
        job_id=f"job-{n}",
        job_number=n,
        job_name="build",
        project_slug="gh/acme/app",
        node_index=0,
        node_total=1,
        executor={"type": "docker", "image": "cimg/base:stable"},
        working_directory="~/project",
        shell=None,
        environment={"CI": "true", "CIRCLECI": "true", "CIRCLE_JOB": "build"},
        secrets=[],
        steps=list(steps),
        checkout={"repository_url": "/nonexistent", "revision": "0" * 40, "branch": "main", "tag": None},
        max_runtime_s=60.0,
        notices=[],
    )
    assignment.update(overrides)  # type: ignore[typeddict-item]
    return assignment


def run_step(command: str, **extra: Any) -> StepSpec:
    spec = StepSpec(type="run", name=extra.pop("name", command[:40]), command=command)
    spec.update(extra)  # type: ignore[typeddict-item]
    return spec


def assert_dead(pid_file: Path) -> None:
    """The process is gone or a zombie (killed, not yet reaped by its new parent)."""
    stat = Path(f"/proc/{int(pid_file.read_text())}/stat")
    deadline = time.monotonic() + 1
    while stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] != "Z":
        assert time.monotonic() < deadline, "process still alive"
        time.sleep(0.02)


def task_dirs(work_dir: Path) -> list[Path]:
    return [path for path in work_dir.iterdir() if path.is_dir()]
