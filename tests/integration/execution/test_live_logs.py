"""Live step output: the SSE stream follows a running step, the cap ends the log with a notice,
and ``circlet logs --follow`` prints a job as it runs (real HTTP, real runner, real processes)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import httpx
import pytest

from circlet.cli.logs import iter_sse
from tests.conftest import MakeProject, MakeRepo, MakeUser
from tests.integration.execution.helpers import V2, finished_workflows, first_job_number, trigger

STREAM = V2 + "/project/gh/acme/app/job/{number}/steps/{step}/{node}/output/stream"


def _config(command: str) -> str:
    return (
        "version: 2.1\njobs:\n  build:\n    docker: [{image: cimg/base:stable}]\n    steps:\n"
        f"      - run:\n          name: talk\n          command: {json.dumps(command)}\n"
        "workflows:\n  main:\n    jobs: [build]\n"
    )


def _without_notice(text: str) -> str:
    """The output after the runner's "no container engine" notice line."""
    first, _, rest = text.partition("\n")
    assert first.startswith("circlet: this job asks for a docker executor"), first
    return rest


async def _open_stream(http: httpx.AsyncClient, url: str, **kwargs: object) -> httpx.Response:
    """GET the stream, retrying while the step has not started (404)."""
    for _ in range(200):
        response = await http.send(http.build_request("GET", url, **kwargs), stream=True)  # type: ignore[arg-type]
        if response.status_code != 404:
            return response
        await response.aclose()
        await asyncio.sleep(0.05)
    raise AssertionError(f"{url} stayed 404")


async def test_stream_delivers_output_while_the_step_runs(
    client: httpx.AsyncClient,
    make_user: MakeUser,
    make_repo: MakeRepo,
    make_project: MakeProject,
    runner,
    live_server: str,
    tmp_path: Path,
) -> None:
    go = tmp_path / "go"
    account = await make_user()
    await make_project(
        make_repo(_config(f"echo first; while [ ! -f {go} ]; do sleep 0.02; done; echo 'second ü'"))
    )
    await runner()
    pipeline = await trigger(client, account)
    number = await first_job_number(client, account, pipeline["id"])
    events: list[tuple[str, dict[str, object]]] = []
    async with httpx.AsyncClient(base_url=live_server, headers=account.headers, timeout=20) as http:
        response = await _open_stream(http, STREAM.format(number=number, step=0, node=0))
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        async with asyncio.timeout(20):
            async for event, data in iter_sse(response.aiter_lines()):
                events.append((event, json.loads(data)))
                text = "".join(str(body["text"]) for kind, body in events if kind == "output")
                if "first" in text:
                    go.touch()  # the step only goes on once the reader has seen its first line
                if event == "end":
                    break
        await response.aclose()
        kinds = [kind for kind, _ in events]
        assert kinds[-1] == "end" and set(kinds[:-1]) == {"output"}
        assert _without_notice(text) == "first\nsecond ü\n"
        end = events[-1][1]
        assert end == {"status": "success", "exit_code": 0, "size": len(text.encode()), "truncated": False}

        # Resuming from an event id (a byte offset) sends only the rest.
        second = len(text.encode()) - len("second ü\n".encode())
        resumed = await _open_stream(
            http, STREAM.format(number=number, step=0, node=0), headers={"Last-Event-ID": str(second)}
        )
        body = (await resumed.aread()).decode()
        assert f'"offset": {second}, "text": "second ü\\n"' in body and body.rstrip().endswith("}")

        missing = await http.get(STREAM.format(number=number, step=7, node=0))
        assert missing.status_code == 404
        anonymous = await http.get(
            STREAM.format(number=number, step=0, node=0), headers={"Circle-Token": "x"}
        )
        assert anonymous.status_code == 401
    workflows = await finished_workflows(client, account, pipeline["id"])
    assert workflows[0]["status"] == "success"


async def test_follow_false_sends_what_exists_and_the_current_status(
    client: httpx.AsyncClient,
    make_user: MakeUser,
    make_repo: MakeRepo,
    make_project: MakeProject,
    runner,
    live_server: str,
    tmp_path: Path,
) -> None:
    go = tmp_path / "go"
    account = await make_user()
    await make_project(make_repo(_config(f"echo early; while [ ! -f {go} ]; do sleep 0.02; done")))
    await runner()
    pipeline = await trigger(client, account)
    number = await first_job_number(client, account, pipeline["id"])
    url = STREAM.format(number=number, step=0, node=0)
    async with httpx.AsyncClient(base_url=live_server, headers=account.headers, timeout=20) as http:
        for _ in range(200):
            response = await http.get(url, params={"follow": "false"})
            if response.status_code == 200 and "early" in response.text:
                break
            await asyncio.sleep(0.05)
        assert '"status": "running"' in response.text and "early" in response.text
    go.touch()
    assert (await finished_workflows(client, account, pipeline["id"]))[0]["status"] == "success"


@pytest.mark.parametrize("log_cap", [4096])
async def test_cap_truncates_with_a_notice(
    client: httpx.AsyncClient,
    make_user: MakeUser,
    make_repo: MakeRepo,
    make_project: MakeProject,
    runner,
    live_server: str,
) -> None:
    account = await make_user()
    await make_project(make_repo(_config("printf '%0300000d' 0 | tr 0 x; echo; echo after")))
    await runner()
    pipeline = await trigger(client, account)
    number = await first_job_number(client, account, pipeline["id"])
    workflows = await finished_workflows(client, account, pipeline["id"])
    assert workflows[0]["status"] == "success"
    async with httpx.AsyncClient(base_url=live_server, headers=account.headers, timeout=20) as http:
        response = await _open_stream(http, STREAM.format(number=number, step=0, node=0))
        events = [(e, json.loads(d)) async for e, d in iter_sse(response.aiter_lines())]
    text = "".join(body["text"] for kind, body in events if kind == "output")
    notice = len(text) - len(_without_notice(text))
    assert _without_notice(text).startswith("x" * (4096 - notice))
    assert text[:4096].count("x") == 4096 - notice + text[:notice].count("x"), text[:200]
    assert "output truncated" in text and "CIRCLET_LOG_CAP_BYTES" in text and "after" not in text
    assert events[-1][1]["truncated"] is True
    build = (await client.get(f"/api/v1.1/project/gh/acme/app/{number}", headers=account.headers)).json()
    action = build["steps"][0]["actions"][0]
    assert action["truncated"] is True
    output = (await client.get(action["output_url"], headers=account.headers)).json()
    assert "output truncated" in output[0]["message"]


async def test_circlet_logs_follows_a_job(
    client: httpx.AsyncClient,
    make_user: MakeUser,
    make_repo: MakeRepo,
    make_project: MakeProject,
    runner,
    live_server: str,
) -> None:
    account = await make_user()
    await make_project(make_repo(_config("for i in 1 2 3; do echo line $i; sleep 0.1; done; exit 3")))
    await runner()
    pipeline = await trigger(client, account)
    number = await first_job_number(client, account, pipeline["id"])
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "circlet", "logs", "gh/acme/app", str(number), "--follow",
        "--server", live_server, "--token", account.token,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    text = out.decode()
    assert proc.returncode == 1, (text, err.decode())
    assert "line 1\nline 2\nline 3\n-- failed, exit code 3\n" in text
    assert text.rstrip().endswith(f"job {number}: failed")

    again = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "circlet", "logs", "gh/acme/app", str(number),
        "--server", live_server, "--token", account.token, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(again.communicate(), 60)
    assert again.returncode == 0 and "line 3\n-- failed, exit code 3" in out.decode()
