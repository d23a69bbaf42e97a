"""JUnit XML import: a real pytest report made during the test, Surefire and Jest reports, malformed files."""

import os
import subprocess
import sys
import textwrap

import pytest
from django.core.exceptions import ValidationError

from apps.configuration import junit, services
from apps.configuration.models import RegressionReport, TestCaseResult

from .conftest import audit_count, counts

pytestmark = pytest.mark.django_db

TINY_SUITE = textwrap.dedent('''
    def test_login_page_answers():
        assert 200 == 200

    def test_statement_totals_add_up():
        assert sum([1, 2, 3]) == 6

    def test_interest_is_rounded_half_even():
        assert round(2.675, 2) == 2.68, "interest rounding changed after the upgrade"
''')

SUREFIRE = b"""<?xml version="1.0" encoding="UTF-8"?>
<testsuite xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" name="com.bank.ledger.PostingServiceTest"
  time="3.512" tests="4" errors="1" skipped="1" failures="0">
  <properties><property name="java.version" value="21.0.2"/></properties>
  <testcase name="postsDebit" classname="com.bank.ledger.PostingServiceTest" time="0.812"/>
  <testcase name="postsCredit" classname="com.bank.ledger.PostingServiceTest" time="0.701"/>
  <testcase name="rejectsNegative" classname="com.bank.ledger.PostingServiceTest" time="1.999">
    <error message="Connection refused" type="org.postgresql.util.PSQLException">org.postgresql.util.PSQLException: Connection refused
	at org.postgresql.core.v3.ConnectionFactoryImpl.openConnectionImpl(ConnectionFactoryImpl.java:342)</error>
  </testcase>
  <testcase name="archivesYearEnd" classname="com.bank.ledger.PostingServiceTest" time="0">
    <skipped message="needs the archive store"/>
  </testcase>
</testsuite>
"""

JEST = b"""<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="jest tests" tests="3" failures="1" errors="0" time="2.417">
  <testsuite name="PaymentForm" errors="0" failures="1" skipped="0" timestamp="2026-11-27T10:00:00" time="1.9" tests="2">
    <testcase classname="PaymentForm renders the IBAN field" name="PaymentForm renders the IBAN field" time="0.4"/>
    <testcase classname="PaymentForm validates the amount" name="PaymentForm validates the amount" time="1.5">
      <failure>Error: expect(received).toBe(expected) // Object.is equality

Expected: "Amount too high"
Received: undefined</failure>
    </testcase>
  </testsuite>
  <testsuite name="Header" errors="0" failures="0" skipped="0" time="0.517" tests="1">
    <testcase classname="Header shows the user" name="Header shows the user" time="0.5"/>
  </testsuite>
</testsuites>
"""


def real_pytest_report(tmp_path) -> bytes:
    (tmp_path / "test_tiny.py").write_text(TINY_SUITE)
    out = tmp_path / "report.xml"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))}
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:django",
                             f"--junitxml={out}", "--rootdir", str(tmp_path), str(tmp_path / "test_tiny.py")],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result.stdout + result.stderr  # one test fails, on purpose
    return out.read_bytes()


def test_a_real_pytest_report_is_imported_with_totals_failures_and_duration(planning, requester, tmp_path):
    raw = real_pytest_report(tmp_path)
    report = services.junit_import(request=planning, by=requester, raw=raw, filename="report.xml")
    assert (report.tests, report.failures, report.errors, report.skipped, report.passed) == (3, 1, 0, 0, 2)
    assert report.duration_seconds > 0
    case = TestCaseResult.objects.get()
    assert case.name == "test_interest_is_rounded_half_even" and case.classname == "test_tiny"
    assert "interest rounding changed after the upgrade" in case.message
    assert case.outcome == "failed"


def test_surefire_and_jest_reports():
    surefire = junit.parse(SUREFIRE, "TEST-PostingServiceTest.xml")
    assert (surefire.tests, surefire.failures, surefire.errors, surefire.skipped) == (4, 0, 1, 1)
    assert str(surefire.duration) == "3.512"
    error = surefire.problems[0]
    assert error.name == "rejectsNegative" and error.message.startswith("Connection refused")
    jest = junit.parse(JEST, "junit.xml")
    assert (jest.tests, jest.failures) == (3, 1) and str(jest.duration) == "2.417"
    assert jest.problems[0].suite == "PaymentForm" and "Amount too high" in jest.problems[0].message


@pytest.mark.parametrize("raw,words", [
    (b"<testsuite><testcase name='a'>", "not well-formed XML"),
    (b"<html><body>Build log</body></html>", "not a JUnit report"),
    (b"<testsuite name='empty' tests='0'/>", "no <testcase>"),
    (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
     b"<testsuite><testcase name='&lol2;'/></testsuite>", "DTD or entities"),
    (b'<!DOCTYPE x SYSTEM "file:///etc/passwd"><testsuite/>', "DTD or entities"),
    (b"", "empty"),
    (b"\xff\xfe<\x00t\x00", "not UTF-8"),
    (b"<testsuite><testcase name='a' time='fast'/></testsuite>", "not a duration"),
])
def test_malformed_reports_are_refused_clearly_and_nothing_is_written(planning, requester, raw, words):
    before, audit = counts(), audit_count()
    with pytest.raises(ValidationError) as exc:
        services.junit_import(request=planning, by=requester, raw=raw, filename="bad.xml")
    assert words in " ".join(exc.value.message_dict["file"])
    assert counts() == before and audit_count() == audit


def test_only_people_on_the_request_import_reports(planning, outsider):
    with pytest.raises(services.duties.DutyRefused):
        services.junit_import(request=planning, by=outsider, raw=SUREFIRE, filename="x.xml")
    assert not RegressionReport.objects.exists()
