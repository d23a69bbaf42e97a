import pytest

from tests.upgrades.conftest import _fast_passwords, drive  # noqa: F401


@pytest.fixture
def completed(upgrade, drive):
    """The plain request, executed and validated: its review is now due."""
    return drive(upgrade, "completed")


REVIEW = {
    "success_criteria": "met", "success_notes": "All checks green.", "downtime_minutes": 12,
    "incidents_summary": "", "went_well": "Runbook ran in order.", "went_badly": "Cache warm-up was slow.",
    "lessons": "Warm the ledger caches before validation.",
}
