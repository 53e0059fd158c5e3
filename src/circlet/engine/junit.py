"""JUnit XML -> test cases, for the dialects in common use: pytest, jest-junit, go-junit-report, Maven
Surefire (and anything else shaped like them).

Parsing happens on the server, always through ``defusedxml`` (no entity expansion, no external
resources), streamed with ``iterparse`` so a large report never sits in memory as one tree.

What each case takes from the XML:

- ``name``, ``classname``: the ``<testcase>`` attributes (``""`` when absent).
- ``file``: ``<testcase file>``, else the enclosing ``<testsuite file>`` (jest-junit, pytest xunit1).
- ``run_time``: ``time`` in seconds (Surefire may write ``1,234.5``).
- ``result``: ``failure`` / ``error`` / ``skipped`` from the first such child, else ``success``.
  Surefire's ``flakyFailure``/``flakyError`` alone mean the test passed on a rerun: ``success``.
- ``message``: the text of that child, else its ``message`` attribute.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from circlet.model.tests import TestCase, TestOutcome

MAX_MESSAGE_CHARS = 65536
_OUTCOMES = {
    "failure": TestOutcome.FAILURE,
    "error": TestOutcome.ERROR,
    "skipped": TestOutcome.SKIPPED,
}


class JUnitError(ValueError):
    """A results file is not readable JUnit XML."""


def parse_junit(stream: IO[bytes], *, source: str) -> Iterator[TestCase]:
    """Yield the test cases of one JUnit XML document. Raises JUnitError for malformed or unsafe XML."""
    suites: list[dict[str, str]] = []
    try:
        for event, element in iterparse(stream, events=("start", "end"), forbid_dtd=False):
            tag = _local(element.tag)
            if tag == "testsuite":
                if event == "start":
                    suites.append(dict(element.attrib))
                else:
                    suites.pop()
                    element.clear()
            elif tag == "testcase" and event == "end":
                yield _case(element, suites, source)
                element.clear()
    except (ParseError, DefusedXmlException) as exc:
        raise JUnitError(f"{source}: {exc}") from exc


def _case(element: Element, suites: list[dict[str, str]], source: str) -> TestCase:
    result, message = _outcome(element)
    return TestCase(
        name=element.get("name", ""),
        classname=element.get("classname", ""),
        file=element.get("file") or _suite_value(suites, "file"),
        result=result,
        message=message,
        run_time=_seconds(element.get("time")),
        source=source,
    )


def _outcome(element: Element) -> tuple[TestOutcome, str | None]:
    for child in element:
        outcome = _OUTCOMES.get(_local(child.tag))
        if outcome is not None:
            return outcome, _message(child)
    return TestOutcome.SUCCESS, None


def _message(child: Element) -> str | None:
    text = "".join(child.itertext()).strip()
    message = text or child.get("message", "").strip()
    return message[:MAX_MESSAGE_CHARS] or None


def _suite_value(suites: list[dict[str, str]], name: str) -> str | None:
    for attrs in reversed(suites):
        if attrs.get(name):
            return attrs[name]
    return None


def _seconds(value: Any) -> float:
    if not value:
        return 0.0
    try:
        seconds = float(str(value).replace(",", ""))
    except ValueError:
        return 0.0
    return seconds if seconds >= 0 else 0.0


def _local(tag: Any) -> str:
    """The tag without a namespace (``{uri}testcase`` -> ``testcase``)."""
    text = str(tag)
    return text.rsplit("}", 1)[-1]
