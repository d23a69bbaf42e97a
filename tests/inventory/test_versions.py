"""Version constraints as operators write them: PEP 440 specifiers and semver-style ranges."""

import pytest

from apps.inventory.versions import ConstraintError, parse_version, satisfies, validate_constraint


@pytest.mark.parametrize(
    ("constraint", "version", "expected"),
    [
        # space- or comma-separated ranges
        (">=13 <17", "13.0", True),
        (">=13 <17", "16.4", True),
        (">=13 <17", "12.22", False),
        (">=13 <17", "17.0", False),
        (">=1.2, <2", "1.9.9", True),
        (">=1.2, <2", "2.0.0", False),
        # caret: up to the next breaking version
        ("^1.4", "1.4.0", True),
        ("^1.4", "1.9.3", True),
        ("^1.4", "1.3.9", False),
        ("^1.4", "2.0.0", False),
        ("^0.2.3", "0.2.9", True),
        ("^0.2.3", "0.3.0", False),
        ("^0.0.3", "0.0.4", False),
        ("^0", "0.9.9", True),
        ("^0", "1.0.0", False),
        # tilde: patch updates, or minor updates when only the major is given
        ("~2.3", "2.3.9", True),
        ("~2.3", "2.4.0", False),
        ("~2", "2.9", True),
        ("~2", "3.0", False),
        # series and wildcards
        ("1.x", "1.99", True),
        ("1.x", "2.0", False),
        ("14.*", "14.11", True),
        ("14.*", "15.0", False),
        ("16", "16.4", True),
        ("16", "17.0", False),
        ("*", "5.1", True),
        # partial versions with comparison operators
        (">1.2", "1.2.9", False),
        (">1.2", "1.3.0", True),
        ("<=1.2", "1.2.9", True),
        ("<=1.2", "1.3", False),
        ("<17.x", "16.9", True),
        ("<17.x", "17.1", False),
        # exact
        ("=16.2", "16.2", True),
        ("=16.2", "16.2.1", False),
        # alternatives
        ("^1.4 || ^3.0", "1.5", True),
        ("^1.4 || ^3.0", "3.2", True),
        ("^1.4 || ^3.0", "2.0", False),
        (">=13 <14 || >=16", "15.1", False),
        # product versions with a prefix or a suffix
        (">=13 <17", "v16.2-lts", True),
        ("", "anything", True),
    ],
)
def test_semver_style_ranges(constraint, version, expected):
    assert satisfies(constraint, "semver", version) is expected


@pytest.mark.parametrize(
    ("constraint", "version", "expected"),
    [
        (">=4.2,<6", "4.2.16", True),
        (">=4.2,<6", "6.0", False),
        ("~=4.2", "4.9", True),
        ("~=4.2", "5.0", False),
        ("==4.2.*", "4.2.16", True),
        ("==4.2.*", "4.3", False),
        ("!=5.0", "5.0", False),
    ],
)
def test_pep440_specifiers(constraint, version, expected):
    assert satisfies(constraint, "pep440", version) is expected


@pytest.mark.parametrize(
    "constraint", [">=13 <17", "^1.4", "~2.3", "1.x", "14.*", "^1 || ^2", ">= 13", "*", ""]
)
def test_valid_semver_constraints_are_accepted(constraint):
    validate_constraint(constraint, "semver")


@pytest.mark.parametrize(
    ("constraint", "kind", "message"),
    [
        (">=abc", "semver", "is not a version range"),
        ("abc", "semver", "is not a version range"),
        ("13 - 17", "semver", "is not a version range"),
        ("^", "semver", "is not a version range"),
        (">=13 ||", "semver", "empty alternative"),
        ("|| ^2", "semver", "empty alternative"),
        (">=abc", "pep440", "is not a PEP 440 specifier"),
        ("4.2", "pep440", "is not a PEP 440 specifier"),
        ("^1.4", "pep440", "is not a PEP 440 specifier"),
    ],
)
def test_invalid_constraints_are_refused_with_a_hint(constraint, kind, message):
    with pytest.raises(ConstraintError, match=message):
        validate_constraint(constraint, kind)


def test_a_version_that_is_not_a_number_cannot_be_checked():
    with pytest.raises(ConstraintError, match="is not a version number"):
        satisfies(">=13", "semver", "latest")
    with pytest.raises(ConstraintError):
        satisfies(">=4.2", "pep440", "not-a-version")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("16.2", (16, 2, 0)),
        ("20.04", (20, 4, 0)),
        ("v1.4.2-lts", (1, 4, 2)),
        ("7", (7, 0, 0)),
        ("1.x", (1, 0, 0)),
    ],
)
def test_parse_version_reads_the_numeric_release(text, expected):
    assert parse_version(text) == expected
