"""``circlet local``: run a working tree's pipeline (uncommitted changes included) with no server
to manage: the real server app on a free loopback port in this process, built-in runners speaking
the runner protocol to it, a temporary data dir, and caches and test timings kept between runs in
``~/.cache/circlet/local``."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
import uvicorn
import yaml
from rich.console import Console
from rich.live import Live

from circlet.cli import local_env
from circlet.cli.local_snapshot import Snapshot, SnapshotError, snapshot
from circlet.cli.local_view import JobState, WorkflowState, render, summary, tail_of
from circlet.engine import accounts, projects
from circlet.errors import CIError
from circlet.settings import Settings
from circlet.store import local_state
from circlet.store.db import Store
from circlet.store.files import FileStore

REFRESH_S = 0.25  # seconds between reads of the pipeline's state
FINAL = frozenset({"success", "failed", "error", "canceled", "unauthorized", "not_run", "on_hold"})
TAIL_BYTES = 4096  # bytes of a step's output read for the tail
NO_WORKFLOWS_AFTER_S = 5.0  # seconds a created pipeline may show no workflow before we give up
STATE_ROOT = Path.home() / ".cache" / "circlet" / "local"


def local(
    path: Annotated[Path, typer.Argument(help="A directory of the git work tree.")] = Path(),
    workflow: Annotated[str | None, typer.Option(help="Run only this workflow.")] = None,
    job: Annotated[str | None, typer.Option(help="Run only this job.")] = None,
    branch: Annotated[
        str | None, typer.Option(help="Branch name the pipeline sees (default: the current one).")
    ] = None,
    param: Annotated[list[str] | None, typer.Option(help="Pipeline parameter k=v (repeatable).")] = None,
    keep: Annotated[
        bool, typer.Option(help="Keep the data dir and print how to open it with circlet serve.")
    ] = False,
    runners: Annotated[int, typer.Option(help="Jobs run at once.")] = 2,
    state_dir: Annotated[
        Path | None, typer.Option(help="Where caches and timings are kept between runs.")
    ] = None,
    context_file: Annotated[
        Path | None,
        typer.Option(help="Contexts for jobs that name them: YAML or JSON {context: {VAR: value}}."),
    ] = None,
    env_file: Annotated[
        Path | None, typer.Option(help="Project environment variables: KEY=VALUE lines.")
    ] = None,
    env: Annotated[
        list[str] | None,
        typer.Option("--env", "-e", help="A project environment variable KEY=VALUE (repeatable)."),
    ] = None,
) -> None:
    """Run the pipeline of a working tree, including uncommitted changes, on this machine."""
    console = Console()
    try:
        parameters = parse_params(param or [])
        secrets = local_env.Secrets.read(context_file, env_file, env or [])
    except ValueError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    tmp = Path(tempfile.mkdtemp(prefix="circlet-local-"))
    try:
        snap = snapshot(path.resolve(), tmp / "source.git", branch=branch, workflow=workflow, job=job)
    except SnapshotError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    state = (state_dir or STATE_ROOT) / _state_name(snap.root)
    code = 1
    from circlet.runner.executor import wait_for_children_with_pidfds

    wait_for_children_with_pidfds()
    try:
        code = asyncio.run(
            _run(snap, tmp / "data", state, parameters, secrets, runners=max(1, runners), console=console)
        )
    finally:
        if keep:
            console.print(f"kept the data dir: [bold]circlet serve --data-dir {tmp / 'data'}[/bold]")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    raise typer.Exit(code)


def parse_params(items: list[str]) -> dict[str, Any]:
    """``k=v`` pairs; values are read as YAML scalars (``true``, ``3``), else kept as strings."""
    params: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--param wants key=value, got {item!r}")
        try:
            parsed = yaml.safe_load(value) if value else ""
        except yaml.YAMLError:
            parsed = value
        params[key] = parsed if isinstance(parsed, (str, bool, int, float)) else value
    return params


def _state_name(root: Path) -> str:
    return f"{root.name}-{hashlib.sha256(str(root).encode()).hexdigest()[:12]}"


class _QuietServer(uvicorn.Server):
    """Signals are ours (Ctrl-C cancels the pipeline first)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _run(
    snap: Snapshot,
    data: Path,
    state: Path,
    params: dict[str, Any],
    secrets: local_env.Secrets,
    *,
    runners: int,
    console: Console,
) -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    settings = Settings(
        data_dir=data,
        host="127.0.0.1",
        port=port,
        database_url=f"sqlite:///{data / 'circlet.db'}",
        base_url="",
    )
    data.mkdir(parents=True, exist_ok=True)
    from circlet.api.app import create_app  # the server stack loads only when running

    app = create_app(settings)
    server = _QuietServer(uvicorn.Config(app, lifespan="on", log_level="warning", access_log=False))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if serving.done():
            serving.result()
            return 2
        await asyncio.sleep(0.01)
    store: Store = app.state.store
    files: FileStore = app.state.files
    slug = f"gh/local/{snap.root.name}"
    try:
        token, runner_token, project_id = await _setup(store, slug, snap, secrets)
    except CIError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        server.should_exit = True
        with contextlib.suppress(Exception):
            await serving
        return 2
    await _restore_state(store, files, project_id, state)
    stop = asyncio.Event()
    agent = asyncio.create_task(_agent(settings.public_url(), runner_token, data / "work", stop, runners))
    try:
        async with httpx.AsyncClient(
            base_url=settings.public_url(), headers={"Circle-Token": token}, timeout=30
        ) as http:
            code = await _pipeline(http, app.state.logs, slug, snap, params, console, agent)
        await _keep_state(store, files, project_id, state)
        return code
    finally:
        stop.set()
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(agent), 10)
        agent.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await agent
        server.should_exit = True
        with contextlib.suppress(Exception):
            await serving
        sock.close()


async def _agent(url: str, token: str, work: Path, stop: asyncio.Event, runners: int) -> None:
    from circlet.runner.agent import run_agent

    work.mkdir(parents=True, exist_ok=True)
    await run_agent(
        server_url=url,
        token=token,
        resource_class="*",
        work_dir=work,
        name="local",
        stop=stop,
        concurrency=runners,
    )


async def _setup(store: Store, slug: str, snap: Snapshot, secrets: local_env.Secrets) -> tuple[str, str, str]:
    async with store.transaction() as tx:
        user, token = await accounts.create_user(tx, login="local", name="circlet local", org="gh/local")
        project = await projects.add_project(tx, slug, repo_url=str(snap.repo), default_branch=snap.branch)
        await secrets.install(tx, user, slug)
        runner_token = await accounts.create_runner_token(tx, "*", nickname="circlet local")
    return token, runner_token, project.id


async def _restore_state(store: Store, files: FileStore, project_id: str, state: Path) -> None:
    try:
        kept = json.loads((state / "state.json").read_text())
    except (OSError, ValueError):
        return
    caches = [c for c in kept.get("caches", []) if (state / "caches" / c["id"]).is_file()]
    for cache in caches:
        _link_or_copy(state / "caches" / cache["id"], files.cache_path(project_id, cache["id"]))
    async with store.transaction() as tx:
        await local_state.import_caches(tx, project_id, caches)
        await local_state.import_cases(tx, project_id, kept.get("timings", {}))


async def _keep_state(store: Store, files: FileStore, project_id: str, state: Path) -> None:
    async with store.transaction() as tx:
        caches = await local_state.export_caches(tx, project_id)
        timings = await local_state.export_cases(tx, project_id)
    (state / "caches").mkdir(parents=True, exist_ok=True)
    for cache in caches:
        kept = state / "caches" / cache["id"]
        if not kept.exists() and files.cache_path(project_id, cache["id"]).is_file():
            _link_or_copy(files.cache_path(project_id, cache["id"]), kept)
    wanted = {c["id"] for c in caches}
    for old in (state / "caches").iterdir():
        if old.name not in wanted:
            old.unlink(missing_ok=True)
    (state / "state.json").write_text(json.dumps({"caches": caches, "timings": timings}))


def _link_or_copy(source: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, dest)
    except OSError:
        shutil.copy2(source, dest)


async def _pipeline(
    http: httpx.AsyncClient,
    logs: Any,
    slug: str,
    snap: Snapshot,
    params: dict[str, Any],
    console: Console,
    agent: asyncio.Task[None],
) -> int:
    body: dict[str, Any] = {"branch": snap.branch}
    if params:
        body["parameters"] = params
    response = await http.post(f"/api/v2/project/{slug}/pipeline", json=body)
    if response.status_code != httpx.codes.CREATED:
        console.print(f"[red]error:[/red] {response.json().get('message', response.text)}")
        return 2
    pipeline_id = response.json()["id"]
    console.print(f"circlet local: {slug} on {snap.branch} ({snap.revision[:12]}, the working tree as it is)")
    interrupts = _Interrupts(http)
    workflows = await _watch(http, logs, pipeline_id, console, interrupts, agent)
    if workflows is None:
        return 130
    if not workflows:
        return await _no_workflows(http, pipeline_id, console)
    summary(workflows, console)
    return 0 if all(w.status == "success" for w in workflows) else 1


async def _no_workflows(http: httpx.AsyncClient, pipeline_id: str, console: Console) -> int:
    pipeline = (await http.get(f"/api/v2/pipeline/{pipeline_id}")).json()
    for error in pipeline.get("errors", []):
        console.print(f"[red]{error.get('type', 'error')}:[/red] {error.get('message')}")
    if not pipeline.get("errors"):
        console.print("no workflow ran (filters or conditions excluded them all)")
    return 1


class _Interrupts:
    """The first Ctrl-C cancels the running workflows; the second stops at once."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.count = 0
        self.workflow_ids: list[str] = []
        self._http = http
        self._tasks: set[asyncio.Task[Any]] = set()

    def __call__(self) -> None:
        self.count += 1
        if self.count == 1:
            for workflow_id in self.workflow_ids:
                task = asyncio.create_task(self._http.post(f"/api/v2/workflow/{workflow_id}/cancel"))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)


async def _watch(
    http: httpx.AsyncClient,
    logs: Any,
    pipeline_id: str,
    console: Console,
    interrupts: _Interrupts,
    agent: asyncio.Task[None],
) -> list[WorkflowState] | None:
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, interrupts)
    printed: dict[str, str] = {}
    live = Live(console=console, refresh_per_second=8, transient=True) if console.is_terminal else None
    try:
        if live is not None:
            live.start()
        idle_polls = 0
        while True:
            workflows = await _read_state(http, logs, pipeline_id)
            interrupts.workflow_ids = [w.id for w in workflows]
            if live is not None:
                live.update(render(workflows))
            else:
                _print_changes(workflows, printed, console)
            if interrupts.count > 1 or agent.done():
                return None
            if workflows and all(w.status in FINAL for w in workflows):
                return workflows
            idle_polls = idle_polls + 1 if not workflows else 0
            if not workflows and await _pipeline_settled(http, pipeline_id, idle_polls):
                return []
            await asyncio.sleep(REFRESH_S)
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        if live is not None:
            live.stop()


async def _pipeline_settled(http: httpx.AsyncClient, pipeline_id: str, idle_polls: int) -> bool:
    state = (await http.get(f"/api/v2/pipeline/{pipeline_id}")).json().get("state")
    return state == "errored" or (state == "created" and idle_polls * REFRESH_S > NO_WORKFLOWS_AFTER_S)


def _print_changes(workflows: list[WorkflowState], printed: dict[str, str], console: Console) -> None:
    for workflow in workflows:
        for job in workflow.jobs:
            key = f"{workflow.id}/{job.name}"
            if printed.get(key) != job.status and job.status not in ("blocked", "queued"):
                printed[key] = job.status
                console.print(f"{workflow.name} / {job.name}: {job.status}")


async def _read_state(http: httpx.AsyncClient, logs: Any, pipeline_id: str) -> list[WorkflowState]:
    items = (await http.get(f"/api/v2/pipeline/{pipeline_id}/workflow")).json().get("items", [])
    states = []
    for item in items:
        workflow = WorkflowState(
            item["id"], item["name"], item["status"], item.get("created_at"), item.get("stopped_at")
        )
        jobs = (await http.get(f"/api/v2/workflow/{item['id']}/job")).json().get("items", [])
        for entry in jobs:
            job = JobState(
                entry["name"],
                entry.get("job_number"),
                entry["status"],
                entry.get("started_at"),
                entry.get("stopped_at"),
            )
            if job.number is not None and job.status in (
                "running",
                "failed",
                "timedout",
                "infrastructure_fail",
            ):
                await _add_steps(http, logs, item["project_slug"], job)
            workflow.jobs.append(job)
        states.append(workflow)
    return states


async def _add_steps(http: httpx.AsyncClient, logs: Any, slug: str, job: JobState) -> None:
    build = (await http.get(f"/api/v1.1/project/{slug}/{job.number}")).json()
    job.steps = [
        {"name": step["name"], **action}
        for step in build.get("steps", [])
        for action in step["actions"]
        if action["index"] == 0
    ]
    if not job.steps:
        return
    shown = next(
        (s for s in reversed(job.steps) if s["status"] in ("running", "failed", "timedout")), job.steps[-1]
    )
    job_id = build["workflows"]["job_id"]
    size = logs.size(job_id, 0, shown["step"])
    data = await logs.read(job_id, 0, shown["step"], offset=max(0, size - TAIL_BYTES))
    job.tail = tail_of(data.decode("utf-8", errors="replace"))
