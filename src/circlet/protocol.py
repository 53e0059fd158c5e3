"""The runner <-> server wire protocol (JSON over HTTP, under ``/runner/v1``).

A runner authenticates with ``Authorization: Bearer <runner token>`` and:

1. ``POST /runner/v1/claim`` with a :class:`ClaimRequest`. The server long-polls up to ``wait_s`` and
   answers ``200`` with a :class:`TaskAssignment` or ``204`` when no work arrived. A claim is a lease:
   the runner must heartbeat within ``lease_s`` or the task is failed as ``infrastructure_fail``.
2. ``POST /runner/v1/tasks/{task_id}/heartbeat`` -> :class:`HeartbeatResponse` (``cancel`` true when
   the job was canceled: the runner kills the step's process group and finishes as ``canceled``).
3. ``POST /runner/v1/tasks/{task_id}/steps/{index}/start`` with :class:`StepStart`.
4. ``POST /runner/v1/tasks/{task_id}/steps/{index}/output``: raw bytes, appended in order. The query
   parameter ``offset`` is the byte offset of the chunk, so a retried upload is idempotent. When the
   assignment's ``features`` lists :data:`FEATURE_OUTPUT_AHEAD`, a runner may send the next chunk
   before the previous one is answered (on another connection): the server holds an upload whose
   ``offset`` is past the log's end until the bytes before it arrive, and answers ``503`` if they
   do not come within a few seconds (the runner repeats it, like any 503). Other servers write at
   the log's end at most, so a runner sends them one chunk at a time.
5. ``POST /runner/v1/tasks/{task_id}/steps/{index}/finish`` with :class:`StepFinish`. When the
   assignment's ``features`` lists :data:`FEATURE_FINISH_OUTPUT`, the finish may also carry the
   step's last output chunk (``output``, base64, appended at ``output_offset`` exactly like call 4),
   which saves a round trip for steps whose output fits one batch. Servers that do not list the
   feature must be sent the output with call 4; runners that never send it still work.
6. ``POST /runner/v1/tasks/{task_id}/finish`` with :class:`TaskFinish`.
7. ``POST /runner/v1/tasks/{task_id}/report`` with :class:`TaskReport` (when the assignment's
   ``features`` lists :data:`FEATURE_TASK_REPORT`): calls 3, 5 and 6 in one request and one
   transaction, in order: step starts and finishes (a quick step's start travels with its finish),
   then optionally the task's finish, then optionally a claim of the runner's next task (answered
   at once, never long-polled). Answers :class:`TaskReportResponse`.

Every task call carries ``X-Circlet-Lease: <lease_id>``; a stale lease answers ``409``.

Storage calls (caches, workspaces, artifacts, test results), all under ``/runner/v1/tasks/{task_id}``.
Request and response bodies are streamed; archives are tar files compressed as ``X-Circlet-Archive``
says (:data:`ArchiveFormat`). Every call can be repeated safely:

- ``GET /caches?key=K1&key=K2&format=F[&exact=true]`` -> :class:`CacheHit` or ``204``. Keys are
  prefixes tried in order; the newest cache of the first key that matches wins. ``format`` lists the
  archive formats the runner can read.
- ``GET /caches/{cache_id}`` -> the archive.
- ``PUT /caches?key=K`` (archive body) -> :class:`CacheSaved`; a key that exists is never replaced.
- ``PUT /steps/{index}/workspace`` (archive body): the step's workspace layer (``{size_bytes}``).
- ``GET /workspace`` -> :class:`WorkspaceLayers`, the layers of the job's upstream jobs in the
  order to unpack them; ``GET /workspace/{layer_id}`` -> the layer's archive.
- ``PUT /steps/{index}/artifacts?path=P`` (the file's bytes): stores one artifact (``{path, size_bytes}``).
- ``PUT /steps/{index}/test-results`` (a tar+gzip archive of JUnit XML files) ->
  :class:`TestResultsRecorded`; the server parses the files.

Test timings: ``GET /runner/v1/tasks/{task_id}/timings`` -> :class:`TaskTimings`, the seconds per
file, class name and test name of the job's most recent run (same project and job name) that
stored test results; empty maps when there is none. The runner writes them to ``meta/timings.json``
for ``circleci tests split --split-by=timings``.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired

from typing_extensions import TypedDict

PROTOCOL_VERSION = 1
LEASE_HEADER = "X-Circlet-Lease"
ARCHIVE_HEADER = "X-Circlet-Archive"  #: the archive format of a storage body

StepWhen = Literal["on_success", "on_fail", "always"]
TaskResult = Literal["success", "failed", "canceled", "timedout", "infrastructure_fail"]
StepResult = Literal["success", "failed", "canceled", "timedout", "not_run"]
ArchiveFormat = Literal["tar+gzip", "tar+zstd"]


class StepSpec(TypedDict):
    """A normalized step. ``type`` is one of run, checkout, save_cache, restore_cache,
    persist_to_workspace, attach_workspace, store_artifacts, store_test_results, add_ssh_keys,
    setup_remote_docker. Keys beyond ``type``/``name``/``when`` depend on the type."""

    type: str
    name: str
    when: NotRequired[StepWhen]
    command: NotRequired[str]
    shell: NotRequired[str | None]
    environment: NotRequired[dict[str, str]]
    working_directory: NotRequired[str | None]
    background: NotRequired[bool]
    no_output_timeout_s: NotRequired[float | None]
    max_auto_reruns: NotRequired[int | None]
    path: NotRequired[str | None]
    method: NotRequired[str]
    key: NotRequired[str]
    keys: NotRequired[list[str]]
    paths: NotRequired[list[str]]
    root: NotRequired[str]
    at: NotRequired[str]
    destination: NotRequired[str | None]
    fingerprints: NotRequired[list[str]]


class CheckoutSpec(TypedDict):
    repository_url: str  #: what ``git clone`` reads (a URL or a path on the runner's host)
    revision: str
    branch: str | None
    tag: str | None


class ClaimRequest(TypedDict):
    resource_class: str
    runner_name: str
    wait_s: NotRequired[float]  #: long-poll bound; 0 answers at once


class TaskAssignment(TypedDict):
    task_id: str
    lease_id: str
    lease_s: float
    heartbeat_interval_s: float
    job_id: str
    job_number: int
    job_name: str
    project_slug: str
    node_index: int
    node_total: int
    executor: dict[str, Any]
    working_directory: str
    shell: str | None
    environment: dict[str, str]  #: the complete environment of every step (CIRCLE_*, secrets, job env)
    secrets: list[str]  #: values to mask in output
    steps: list[StepSpec]
    checkout: CheckoutSpec
    max_runtime_s: float
    notices: list[str]  #: printed at the top of the job's first step (e.g. "no Docker engine")
    features: NotRequired[list[str]]  #: optional protocol additions this server accepts


class HeartbeatResponse(TypedDict):
    cancel: bool


class StepStart(TypedDict):
    name: str
    started_at: str  #: RFC 3339
    parallel: NotRequired[bool]


class StepFinish(TypedDict):
    status: StepResult
    exit_code: int | None
    ended_at: str
    output: NotRequired[str]  #: base64 of the step's last output chunk (:data:`FEATURE_FINISH_OUTPUT`)
    output_offset: NotRequired[int]  #: byte offset of ``output`` in the step's log


FEATURE_FINISH_OUTPUT = "step-finish-output"  #: a step finish may carry the step's last output chunk
FEATURE_OUTPUT_AHEAD = "step-output-ahead"  #: an output upload may arrive before the one it follows


class TaskFinish(TypedDict):
    status: TaskResult
    message: NotRequired[str]


FEATURE_TASK_REPORT = "task-report"  #: the server takes batched step and task events (call 7)


class StepReport(TypedDict):
    """One step's events in a :class:`TaskReport`: its start, its finish, or both (start first)."""

    index: int
    start: NotRequired[StepStart]
    finish: NotRequired[StepFinish]


class TaskReport(TypedDict):
    steps: list[StepReport]  #: applied in order
    finish: NotRequired[TaskFinish]  #: the task's end, after its steps
    claim: NotRequired[ClaimRequest]  #: with ``finish``: lease the runner's next task (``wait_s`` ignored)


class TaskReportResponse(TypedDict):
    cancel: bool  #: the job was canceled (as in :class:`HeartbeatResponse`)
    next: NotRequired[TaskAssignment | None]  #: the claimed task when ``claim`` was sent, or None


class CacheHit(TypedDict):
    cache_id: str
    key: str  #: the full key of the cache found
    archive_format: ArchiveFormat
    size_bytes: int


class CacheSaved(TypedDict):
    saved: bool  #: false when the key was already saved (the upload was not kept)
    size_bytes: int


class WorkspaceLayerInfo(TypedDict):
    layer_id: str
    job_name: str
    node_index: int
    archive_format: ArchiveFormat
    size_bytes: int


class WorkspaceLayers(TypedDict):
    layers: list[WorkspaceLayerInfo]


class TestResultsRecorded(TypedDict):
    cases: int  #: test cases recorded
    files: int  #: results files that parsed
    problems: list[str]  #: files that could not be read, and why


class TaskTimings(TypedDict):
    """Seconds per key, summed over the test cases of the job's latest recorded run."""

    filename: dict[str, float]
    classname: dict[str, float]
    testname: dict[str, float]
