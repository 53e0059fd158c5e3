"""A step printing megabytes: its output reaches the log complete and in order, byte for byte,
with a secret masked wherever the pipe reads, upload batches and server writes cut it; the stored
size and a cap below the output follow."""

from __future__ import annotations

import json

import httpx
import pytest

from circlet.store import steps as step_store
from circlet.store.db import Store
from tests.conftest import MakeProject, MakeRepo, MakeUser
from tests.integration.execution.helpers import (
    V2,
    finished_workflows,
    first_job_number,
    trigger,
    workflow_jobs,
)

SECRET = "hunter22-secret"
LINES = 400_000  # about 17 MB of output: several upload batches and server writes

# Prints numbered lines with the secret on each; every 50,000th line, the secret is written in two
# halves with a pause between them, so the runner reads the halves from the pipe separately.
PRINTER = f"""\
import os, sys, time
out = sys.stdout.buffer
for i in range({LINES}):
    if i % 50000 == 7:
        out.write(b"split " + os.environ["SECRET"][:6].encode()); out.flush(); time.sleep(0.05)
        out.write(os.environ["SECRET"][6:].encode() + b" done\\n")
    else:
        out.write(b"line %d " % i + os.environ["SECRET"].encode() + b" tail\\n")
out.flush()
"""


def _config(command: str) -> str:
    return (
        "version: 2.1\njobs:\n  build:\n    machine: true\n    steps:\n"
        f"      - run:\n          name: loud\n          command: {json.dumps(command)}\n"
        "workflows:\n  main:\n    jobs: [build]\n"
    )


def _expected(secret: str) -> bytes:
    lines = []
    for i in range(LINES):
        if i % 50000 == 7:
            lines.append(f"split {secret} done\n")
        else:
            lines.append(f"line {i} {secret} tail\n")
    return "".join(lines).encode()


async def _run(
    client: httpx.AsyncClient, make_user: MakeUser, make_repo: MakeRepo, make_project: MakeProject, runner
) -> tuple[bytes, dict[str, object], str]:
    account = await make_user()
    repo = make_repo(_config("python3 - <<'EOF'\n" + PRINTER + "EOF"))
    await make_project(repo)
    added = await client.post(
        f"{V2}/project/gh/acme/app/envvar", headers=account.headers, json={"name": "SECRET", "value": SECRET}
    )
    assert added.status_code == 201, added.text
    await runner()
    pipeline = await trigger(client, account)
    number = await first_job_number(client, account, pipeline["id"])
    workflows = await finished_workflows(client, account, pipeline["id"], timeout_s=120)
    assert workflows[0]["status"] == "success"
    build = (await client.get(f"/api/v1.1/project/gh/acme/app/{number}", headers=account.headers)).json()
    action = build["steps"][-1]["actions"][0]
    raw = await client.get(
        f"/api/private/output/raw/gh/acme/app/{number}/output/0/{action['step']}", headers=account.headers
    )
    assert raw.status_code == 200
    (job,) = await workflow_jobs(client, account, workflows[0]["id"])
    return raw.content, action, str(job["id"])


def _without_notice(log: bytes) -> bytes:
    """The output after the runner's notice line about the executor."""
    first, _, rest = log.partition(b"\n")
    assert first.startswith(b"circlet:"), first[:200]
    return rest


async def test_large_output_arrives_complete_with_the_secret_masked(
    client: httpx.AsyncClient,
    store: Store,
    make_user: MakeUser,
    make_repo: MakeRepo,
    make_project: MakeProject,
    runner,
) -> None:
    log, action, job_id = await _run(client, make_user, make_repo, make_project, runner)
    assert SECRET.encode() not in log and SECRET[:6].encode() + b"\n" not in log
    assert _without_notice(log) == _expected("********")
    assert action["truncated"] is False
    async with store.transaction() as tx:
        steps = await step_store.list_steps(tx, job_id)
    recorded = [s.output_bytes for s in steps if s.step_index == action["step"]]
    assert recorded == [len(log)]  # the finish records the final size, whatever was throttled before


@pytest.mark.parametrize("log_cap", [5_000_000])
async def test_cap_cuts_a_large_output_once_with_a_notice(
    client: httpx.AsyncClient, make_user: MakeUser, make_repo: MakeRepo, make_project: MakeProject, runner
) -> None:
    log, action, _ = await _run(client, make_user, make_repo, make_project, runner)
    kept, notice = log[:5_000_000], log[5_000_000:]
    assert _expected("********").startswith(_without_notice(kept))
    assert notice.count(b"output truncated") == 1
    assert notice.startswith(b"\n[circlet] output truncated: this step printed more than 5000000 bytes")
    assert action["truncated"] is True
