"""JUnit XML of each common dialect, parsed as the server parses uploads."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from circlet.engine.junit import JUnitError, parse_junit
from circlet.model.tests import TestCase, TestOutcome

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "junit"


def _parse(name: str) -> list[TestCase]:
    with (FIXTURES / name).open("rb") as stream:
        return list(parse_junit(stream, source=name))


def test_pytest() -> None:
    cases = {c.name: c for c in _parse("pytest.xml")}
    assert list(cases) == ["test_adds", "test_divides", "test_later", "test_fixture"]
    assert cases["test_adds"].result is TestOutcome.SUCCESS and cases["test_adds"].message is None
    assert cases["test_adds"].classname == "tests.test_math" and cases["test_adds"].run_time == 0.001
    failed = cases["test_divides"]
    assert failed.result is TestOutcome.FAILURE and failed.run_time == 0.012
    assert failed.message is not None and "assert 4 / 2 == 3" in failed.message
    assert cases["test_later"].result is TestOutcome.SKIPPED
    assert cases["test_later"].message == "tests/test_math.py:12: not ready"
    assert (
        cases["test_fixture"].result is TestOutcome.ERROR
        and cases["test_fixture"].message == "ValueError: boom"
    )
    assert all(c.file is None and c.source == "pytest.xml" for c in cases.values())


def test_jest_junit() -> None:
    cases = _parse("jest-junit.xml")
    assert [c.result for c in cases] == [TestOutcome.SUCCESS, TestOutcome.FAILURE, TestOutcome.SKIPPED]
    assert cases[0].name == cases[0].classname == "sum adds 1 + 2 to equal 3"
    assert all(c.file == "src/sum.test.js" for c in cases)  # the testcase's, else the suite's file
    assert cases[1].message is not None and cases[1].message.startswith("Error: expect(received).toThrow()")
    assert cases[2].run_time == 0.0 and cases[2].message is None


def test_go_junit_report() -> None:
    cases = _parse("go-junit-report.xml")
    assert [(c.classname, c.name, c.result) for c in cases] == [
        ("example.com/shop/cart", "TestTotal", TestOutcome.SUCCESS),
        ("example.com/shop/cart", "TestDiscount/ten_percent", TestOutcome.FAILURE),
    ]
    assert cases[1].message == "cart_test.go:31: got 90.5, want 90"


def test_surefire() -> None:
    cases = {c.name: c for c in _parse("TEST-com.example.AppTest.xml")}
    assert cases["startsUp"].run_time == 1200.25  # Surefire's thousands separator
    assert cases["addsItems"].result is TestOutcome.FAILURE
    assert (
        cases["addsItems"].message is not None and "expected: <3> but was: <2>" in cases["addsItems"].message
    )
    assert cases["retriesNetwork"].result is TestOutcome.SUCCESS  # failed once, passed on the rerun


def test_entity_expansion_is_refused() -> None:
    bomb = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<testsuite><testcase name="&lol2;"/></testsuite>"""
    with pytest.raises(JUnitError):
        list(parse_junit(io.BytesIO(bomb), source="bomb.xml"))


def test_external_entities_are_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("hunter2")
    doc = f"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY s SYSTEM "file://{secret}">]><testsuite><testcase name="&s;"/></testsuite>"""
    with pytest.raises(JUnitError):
        list(parse_junit(io.BytesIO(doc.encode()), source="x.xml"))


def test_malformed_xml_is_an_error() -> None:
    with pytest.raises(JUnitError, match=r"broken\.xml"):
        list(parse_junit(io.BytesIO(b"<testsuite><testcase name='a'>"), source="broken.xml"))
