"""``store_test_results``: the runner uploads the JUnit files as a tar archive; the server parses them
(:mod:`circlet.engine.junit`, through defusedxml) and records the cases with Insights'
``record_test_results``. Each step's results are recorded once, however often the upload is retried.
"""

from __future__ import annotations

import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from circlet.engine import access
from circlet.engine.caches import leased_job
from circlet.engine.junit import JUnitError, parse_junit
from circlet.insights.test_results import record_test_results
from circlet.model.accounts import User
from circlet.model.pipelines import Job
from circlet.model.tests import TestCase
from circlet.store import tasks as task_store
from circlet.store import test_uploads as upload_store
from circlet.store.pages import DEFAULT_PAGE_SIZE, decode_token, encode_token

MAX_XML_BYTES = 250 * 1024 * 1024  # CircleCI stores no results for a job with more test data than this
MAX_PROBLEMS = 20


@dataclass(slots=True)
class ParsedResults:
    cases: list[TestCase] = field(default_factory=list)
    files: int = 0
    problems: list[str] = field(default_factory=list)


async def results_target(tx: AsyncSession, task_id: str, lease_id: str) -> Job:
    job, _ = await leased_job(tx, task_id, lease_id)
    return job


def parse_results_archive(path: Path, *, max_bytes: int = MAX_XML_BYTES) -> ParsedResults:
    """Every JUnit file in the tar archive at ``path`` (blocking: call it in a worker thread)."""
    parsed = ParsedResults()
    total = 0
    try:
        with tarfile.open(path, "r:*") as archive:
            for member in archive:
                if not member.isfile():
                    continue
                total += member.size
                if total > max_bytes:
                    parsed.problems.append(
                        f"more than {max_bytes} bytes of test results; the rest is ignored"
                    )
                    break
                _parse_member(archive, member, parsed)
    except (tarfile.TarError, EOFError, OSError) as exc:
        parsed.problems.append(f"unreadable upload: {exc}")
    return parsed


def _parse_member(archive: tarfile.TarFile, member: tarfile.TarInfo, parsed: ParsedResults) -> None:
    stream = archive.extractfile(member)
    if stream is None:
        return
    found: list[TestCase] = []
    try:
        found.extend(parse_junit(stream, source=member.name))
    except JUnitError as exc:
        if len(parsed.problems) < MAX_PROBLEMS:
            parsed.problems.append(f"not JUnit XML: {exc}")
        return
    parsed.files += 1
    parsed.cases.extend(found)


async def record_results(
    tx: AsyncSession, task_id: str, job: Job, step_index: int, parsed: ParsedResults
) -> bool:
    """Record a step's parsed cases; False when this step's results were already recorded."""
    task = await task_store.get_task(tx, task_id)
    claimed = await upload_store.claim_upload(
        tx,
        task_id=task.id,
        step_index=step_index,
        cases=len(parsed.cases),
        message="; ".join(parsed.problems),
    )
    if claimed and parsed.cases:
        await record_test_results(tx, job, parsed.cases)
    return claimed


async def job_tests(
    tx: AsyncSession, user: User, slug: str, number: int, page_token: str | None
) -> tuple[list[TestCase], str | None]:
    """A page of a job's recorded test cases, in the order they were recorded."""
    _, job = await access.job_by_number(tx, user, slug, number)
    key = decode_token(page_token)
    after = int(key[0]) if key and isinstance(key[0], int) else 0
    rows = await upload_store.job_test_cases(tx, job.id, after_id=after, limit=DEFAULT_PAGE_SIZE + 1)
    page = rows[:DEFAULT_PAGE_SIZE]
    token = encode_token([page[-1][0]]) if len(rows) > DEFAULT_PAGE_SIZE else None
    return [case for _, case in page], token
