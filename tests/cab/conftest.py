"""CAB fixtures: more CAB members, a request in review, votes with the persona password."""

import pytest

from apps.audit.models import AuditEvent
from apps.cab.models import Condition, Review, Vote
from apps.upgrades.models import UpgradeRequest
from tests.factories import PASSWORD, TeamFactory, UserFactory
from tests.upgrades.conftest import drive  # noqa: F401  (fixture)


@pytest.fixture
def cab_team(db):
    return TeamFactory(name="Infrastructure", slug="infrastructure")


@pytest.fixture
def cab2(cab_team):
    return UserFactory(username="cab2", roles=["cab_member"], teams=[cab_team])


@pytest.fixture
def cab3(db):
    return UserFactory(username="cab3", roles=["cab_member"])


@pytest.fixture
def in_review(upgrade, drive):
    """The plain upgrade, submitted to the CAB (built-in default policy: quorum 1, veto)."""
    return drive(upgrade, "cab_review")


def review_of(upgrade) -> Review:
    return Review.objects.get(request=upgrade, outcome="open")


def vote(review, user, decision="approve", **kw):
    from apps.cab.services import vote_cast

    kw.setdefault("password", PASSWORD)
    return vote_cast(review=review, voter=user, decision=decision, **kw)


def cab_counts() -> dict:
    return {"votes": Vote.objects.count(), "conditions": Condition.objects.count(),
            "reviews": Review.objects.count(), "audit": AuditEvent.objects.count(),
            "states": list(UpgradeRequest.objects.order_by("pk").values_list("state", flat=True))}
