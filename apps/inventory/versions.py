"""Version constraints: PEP 440 specifiers (via `packaging`) and semver-style ranges.

Semver-style ranges accept what operators write for non-Python products:
`>=13 <17`, `>=1.2, <2`, `^1.4`, `~2.3`, `1.x`, `14.*`, `=16.2` (exactly 16.2.0), `*`, alternatives with `||`.
Partial versions follow npm: `~2` is 2.x, `^0.2` is 0.2.x, `>1.2` is 1.3.0 or later, `<=1.2` includes 1.2.x.
"""

import re

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

_VERSION_RE = re.compile(r"^v?(\d+)(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:[-+.]?[0-9A-Za-z.-]*)?$")
_CLAUSE_RE = re.compile(r"^(\^|~|>=|<=|>|<|==|=)?\s*(v?[0-9][0-9A-Za-z.*xX+-]*)$")


class ConstraintError(ValueError):
    pass


def parse_version(text: str) -> tuple[int, int, int]:
    """The numeric release of a product version ('16.2', '20.04', 'v1.4.2-lts' -> (1, 4, 2))."""
    text = (text or "").strip()
    m = _VERSION_RE.match(text)
    if not m:
        raise ConstraintError(f"“{text}” is not a version number.")
    parts = [m.group(1), m.group(2), m.group(3)]
    return tuple(0 if p is None or p in "xX*" else int(p) for p in parts)  # type: ignore[return-value]


def _next_series(base: tuple[int, int, int], given: int) -> tuple[int, int, int]:
    """The first version after the series named by the first `given` numbers ("1.4" -> 1.5.0)."""
    major, minor, patch = base
    if given <= 1:
        return (major + 1, 0, 0)
    if given == 2:
        return (major, minor + 1, 0)
    return (major, minor, patch + 1)


def _clause_bounds(op: str, ver: str):
    """A clause as a list of (operator, version tuple) comparisons that must all hold."""
    raw = ver.lstrip("v")
    pieces = raw.split("+")[0].split("-")[0].split(".")
    wildcard_at = next((i for i, p in enumerate(pieces) if p in ("x", "X", "*")), None)
    given = wildcard_at if wildcard_at is not None else min(len(pieces), 3)
    if given == 0:
        # "*" or "x": any version (with "<" nothing would do, which is never meant)
        return []
    base = parse_version(raw)
    partial = given < 3
    upper = _next_series(base, given)
    if op in ("", "=", "=="):
        if wildcard_at is not None or (not op and partial):
            # "1.x", "14.*", or a bare "14" / "14.2": everything in that series
            return [(">=", base), ("<", upper)]
        return [("==", base)]
    if op == "^":
        major, minor, _ = base
        if major or given == 1:
            caret = (major + 1, 0, 0)
        elif minor or given == 2:
            caret = (0, minor + 1, 0)
        else:
            caret = _next_series(base, 3)
        return [(">=", base), ("<", caret)]
    if op == "~":
        return [(">=", base), ("<", _next_series(base, min(given, 2)))]
    if partial and op == ">":
        return [(">=", upper)]  # ">1.2" means above the whole 1.2 series
    if partial and op == "<=":
        return [("<", upper)]  # "<=1.2" includes the whole 1.2 series
    return [(op, base)]


_TOKEN = r"(\^|~|>=|<=|>|<|==|=)?\s*(v?[0-9][0-9A-Za-z.*xX+-]*|[*xX])"


def _parse_semver(constraint: str) -> list[list[tuple[str, tuple]]]:
    alternatives = []
    for alternative in constraint.split("||"):
        text = alternative.replace(",", " ")
        if not text.strip():
            raise ConstraintError(f"“{constraint}” has an empty alternative around “||”.")
        tokens = re.findall(_TOKEN, text)
        rest = re.sub(_TOKEN, "", text)
        if rest.strip() or not tokens:
            raise ConstraintError(f"“{alternative.strip()}” is not a version range (try “>=13 <17” or “^1.4”).")
        clauses = []
        for op, ver in tokens:
            clauses.extend(_clause_bounds(op or "", ver))
        alternatives.append(clauses)
    return alternatives


_OPS = {
    "==": lambda a, b: a == b,
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
}


def validate_constraint(constraint: str, kind: str) -> None:
    constraint = (constraint or "").strip()
    if not constraint:
        return
    if kind == "pep440":
        try:
            SpecifierSet(constraint)
        except InvalidSpecifier as exc:
            raise ConstraintError(f"“{constraint}” is not a PEP 440 specifier (try “>=4.2,<6”).") from exc
    else:
        _parse_semver(constraint)


def satisfies(constraint: str, kind: str, version: str) -> bool:
    """Does `version` meet `constraint`? An empty constraint admits everything."""
    constraint = (constraint or "").strip()
    if not constraint:
        return True
    if kind == "pep440":
        try:
            return Version(version) in SpecifierSet(constraint)
        except (InvalidVersion, InvalidSpecifier) as exc:
            raise ConstraintError(str(exc)) from exc
    target = parse_version(version)
    return any(all(_OPS[op](target, bound) for op, bound in alt) for alt in _parse_semver(constraint))
