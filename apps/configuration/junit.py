"""JUnit XML reports (pytest --junitxml, Maven Surefire, Jest jest-junit, ...) read safely.

No DTDs and no entities: a document that declares either is refused before it is parsed, so entity
expansion ("billion laughs") and external entities cannot happen with the standard library's parser.
"""

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError

from .choices import CaseOutcome

MAX_BYTES = 5 * 1024 * 1024
MAX_CASES = 50000
MAX_MESSAGE = 4000
_FORBIDDEN = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


@dataclass
class Case:
    suite: str
    classname: str
    name: str
    outcome: str
    message: str = ""
    duration: Decimal = Decimal(0)


@dataclass
class Report:
    name: str
    tests: int = 0
    failures: int = 0
    errors: int = 0
    skipped: int = 0
    duration: Decimal = Decimal(0)
    cases: list[Case] = field(default_factory=list)

    @property
    def problems(self) -> list[Case]:
        return [c for c in self.cases if c.outcome in (CaseOutcome.FAILED, CaseOutcome.ERROR)]


def _bad(message: str) -> ValidationError:
    return ValidationError({"file": message})


def _seconds(value) -> Decimal:
    if value in (None, ""):
        return Decimal(0)
    try:
        number = Decimal(str(value).replace(",", ""))
    except InvalidOperation:
        raise _bad(f"“{str(value)[:40]}” is not a duration in seconds.") from None
    if not number.is_finite() or number < 0:
        raise _bad(f"“{str(value)[:40]}” is not a duration in seconds.")
    return number.quantize(Decimal("0.001"))


def _message(element) -> str:
    text = element.get("message") or ""
    body = (element.text or "").strip()
    if body:
        text = f"{text}\n{body}" if text else body
    return text.strip()[:MAX_MESSAGE]


def _case(suite: str, element) -> Case:
    name = (element.get("name") or "").strip()
    if not name:
        raise _bad("A <testcase> has no name.")
    outcome, message = CaseOutcome.PASSED, ""
    for child in element:
        tag = child.tag
        if tag == "failure":
            outcome, message = CaseOutcome.FAILED, _message(child)
            break
        if tag == "error":
            outcome, message = CaseOutcome.ERROR, _message(child)
            break
        if tag == "skipped":
            outcome, message = CaseOutcome.SKIPPED, _message(child)
    return Case(suite=suite[:300], classname=(element.get("classname") or "")[:300], name=name[:300],
                outcome=outcome, message=message, duration=_seconds(element.get("time")))


def parse(raw: bytes, filename: str = "") -> Report:
    """Totals, every case with its outcome, and the report's duration; ValidationError({"file": ...}) on
    anything that is not a JUnit XML report."""
    if not raw:
        raise _bad("The file is empty.")
    if len(raw) > MAX_BYTES:
        raise _bad(f"The report is {len(raw) // 1024} KB; the limit is {MAX_BYTES // 1024} KB.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _bad("The report is not UTF-8 text; JUnit XML reports are UTF-8.") from None
    if _FORBIDDEN.search(text):
        raise _bad("The report declares a DTD or entities; Tollgate refuses those for safety. "
                   "JUnit XML reports do not need them.")
    try:
        root = ET.fromstring(text.encode())
    except ET.ParseError as exc:
        raise _bad(f"The file is not well-formed XML: {exc}.") from None
    if root.tag == "testsuites":
        suites = list(root.iter("testsuite"))
    elif root.tag == "testsuite":
        suites = [root] + [s for s in root.iter("testsuite") if s is not root]
    else:
        raise _bad(f"This is XML but not a JUnit report: the root element is <{root.tag[:40]}>, "
                   "expected <testsuites> or <testsuite>.")
    report = Report(name=(root.get("name") or filename or "JUnit report")[:200])
    seen = set()
    for suite in suites:
        suite_name = suite.get("name") or ""
        for element in suite.findall("testcase"):
            if id(element) in seen:
                continue
            seen.add(id(element))
            report.cases.append(_case(suite_name, element))
            if len(report.cases) > MAX_CASES:
                raise _bad(f"The report has more than {MAX_CASES} test cases.")
    if not report.cases:
        raise _bad("The report contains no <testcase>; nothing was tested.")
    report.tests = len(report.cases)
    report.failures = sum(1 for c in report.cases if c.outcome == CaseOutcome.FAILED)
    report.errors = sum(1 for c in report.cases if c.outcome == CaseOutcome.ERROR)
    report.skipped = sum(1 for c in report.cases if c.outcome == CaseOutcome.SKIPPED)
    # the report's own time when it gives one (Jest and pytest do), else the sum of its suites or cases
    if root.get("time"):
        report.duration = _seconds(root.get("time"))
    elif any(s.get("time") for s in suites):
        report.duration = sum((_seconds(s.get("time")) for s in suites if s is not root or root.tag == "testsuite"),
                              Decimal(0))
    else:
        report.duration = sum((c.duration for c in report.cases), Decimal(0))
    return report
