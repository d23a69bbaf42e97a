"""Vendor lifecycle findings and timeline on the real endoflife.date files, with "today" pinned."""

import datetime as dt
from pathlib import Path

import pytest
from django.template.loader import render_to_string

from apps.assessments import checks
from apps.assessments import lifecycle as lc
from apps.core import clock
from apps.inventory import lifecycle
from tests.conftest import make_request
from tests.factories import ComponentFactory

DATA = Path(__file__).resolve().parent.parent / "data" / "endoflife"
TODAY = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def releases(admin_user):
    files = [(p.name, p.read_bytes()) for p in (
        DATA / "products" / "postgresql.md", DATA / "products" / "django.md", DATA / "products" / "ubuntu.md",
        DATA / "release-data" / "postgresql.json")]
    with clock.frozen(TODAY):
        lifecycle.lifecycle_import(files=files, by=admin_user)


def _request(requester, component, target, current=None):
    item = {"system": component.system_id, "component": component.pk, "target_version": target}
    if current:
        item["current_version"] = current
    return make_request(requester, component, items=[item])


def _findings(request, when=TODAY):
    with clock.frozen(when):
        return {f.key.split(":")[1]: f for f in lc.lifecycle_check(request)}


def test_postgresql_13_is_past_end_of_life_and_18_is_newer_than_the_target(releases, requester, component_a):
    found = _findings(_request(requester, component_a, "16.4"))
    current, target = found["current"], found["target"]
    assert current.severity == "high" and current.category == "lifecycle"
    assert current.title == "postgresql 13 is past end of life since 2025-11-13"
    assert "13.14 is in cycle 13" in current.evidence and current.system_id == component_a.system_id
    assert target.severity == "low" and "postgresql 18" in target.title and "2030-11-14" in target.evidence
    assert "unknown" not in found


def test_django_4_2_near_then_past_end_of_life(releases, requester, system_b, production):
    app = ComponentFactory(system=system_b, environment=production, name="portal-app", product="django",
                           version="4.2.16")
    request = _request(requester, app, "5.2.17")
    near = _findings(request, dt.datetime(2026, 1, 15, tzinfo=dt.UTC))["current"]
    assert near.severity == "medium" and near.title == "django 4.2 reaches end of life on 2026-04-07 (82 days)"
    after = _findings(request)
    assert after["current"].severity == "high" and "since 2026-04-07" in after["current"].title
    # 5.2 lives until 2028; 6.1 is the newest supported cycle on the pinned day
    assert after["target"].severity == "low" and after["target"].title.endswith("django 6.1")


def test_ubuntu_20_04_standard_support_ended_extended_support_noted(releases, requester, system_a, production):
    host = ComponentFactory(system=system_a, environment=production, name="hub-host", product="ubuntu",
                            version="20.04")
    found = _findings(_request(requester, host, "24.04"))
    assert found["current"].severity == "high" and "since 2025-05-31" in found["current"].title
    assert "extended support runs until 2030-04-02" in found["current"].evidence
    assert found["target"].severity == "low" and "ubuntu 26.04" in found["target"].title


def test_target_already_dead_or_dying(releases, requester, component_a):
    dead = _findings(_request(requester, component_a, "14.20"))["target"]
    assert dead.severity == "high" and "already past end of life (2026-11-12)" in dead.title
    dying = _findings(_request(requester, component_a, "14.20"), dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
    assert dying["target"].severity == "medium" and "164 days of life left" in dying["target"].title
    assert "A newer supported cycle exists: postgresql 18" in dying["target"].evidence


def test_warning_window_is_a_setting(releases, requester, component_a, settings):
    request = _request(requester, component_a, "18.1")
    when = dt.datetime(2025, 8, 1, tzinfo=dt.UTC)  # 13 reaches end of life 104 days later
    assert _findings(request, when)["current"].severity == "medium"
    settings.TOLLGATE_LIFECYCLE_WARN_DAYS = 60
    assert "current" not in _findings(request, when)
    assert "target" not in _findings(request, when)  # 18 is the newest cycle


def test_unknown_product_or_cycle_is_info(releases, requester, system_a, production):
    kafka = ComponentFactory(system=system_a, environment=production, name="bus", product="apache-kafka",
                             version="3.6.1")
    found = _findings(_request(requester, kafka, "3.7.0"))
    assert list(found) == ["unknown"] and found["unknown"].severity == "info"
    assert found["unknown"].title == "No lifecycle data for apache-kafka (the product)"
    pg = ComponentFactory(system=system_a, environment=production, name="old-db", product="postgresql",
                          version="5.1")
    found = _findings(_request(requester, pg, "16.4"))
    assert found["unknown"].title == "No lifecycle data for postgresql (current 5.1)"
    assert found["target"].severity == "low"


def test_no_data_at_all_is_info_not_an_error(requester, component_a):
    found = _findings(_request(requester, component_a, "16.4"))
    assert list(found) == ["unknown"]


def test_cycle_matching():
    cycles = {"16", "22.04", "4.2", "4", "1.1.1"}
    assert lifecycle.cycle_of("16.4", cycles) == "16"
    assert lifecycle.cycle_of("22.04", cycles) == "22.04"
    assert lifecycle.cycle_of("4.2.16", cycles) == "4.2"
    assert lifecycle.cycle_of("1.1.1w", cycles) is None
    assert lifecycle.cycle_of("161", cycles) is None


def test_registered_as_a_check(releases, requester, component_a):
    lc.register_checks()
    assert checks.registered()["lifecycle"] is lc.lifecycle_check
    request = _request(requester, component_a, "16.4")
    with clock.frozen(TODAY):
        keys = {s.key for s in checks.run_all(request) if s.category == "lifecycle"}
    item = f"{component_a.system_id}:{component_a.pk}"
    assert keys == {f"lifecycle:current:{item}", f"lifecycle:target:{item}"}


def test_timeline_from_current_to_newest_with_svg(releases, requester, component_a, django_assert_max_num_queries):
    request = _request(requester, component_a, "16.4")
    with clock.frozen(TODAY), django_assert_max_num_queries(2):
        timeline = lc.timeline(request)
    (entry,) = timeline
    assert [r["cycle"] for r in entry["rows"]] == ["13", "14", "15", "16", "17", "18"]
    rows = {r["cycle"]: r for r in entry["rows"]}
    assert rows["13"]["is_current"] and rows["16"]["is_target"] and rows["13"]["status"] == "eol"
    assert rows["14"]["status"] == "eol" and rows["18"]["status"] == "supported"
    assert rows["18"]["latest"] == "18.6"
    svg = entry["svg"]
    assert len(svg["bars"]) == 6 and svg["bars"][0]["x"] < svg["today_x"] < svg["width"]
    html = render_to_string("assessments/partials/lifecycle_timeline.html", {"timeline": timeline})
    assert "<svg" in html and "<script" not in html
    assert "2025-11-13" in html and "current" in html and "target" in html


def test_timeline_keeps_current_target_and_newest_when_long(releases, requester, system_a, production):
    host = ComponentFactory(system=system_a, environment=production, name="h", product="ubuntu",
                            version="16.04")
    with clock.frozen(TODAY):
        (entry,) = lc.timeline(_request(requester, host, "24.04"))
    cycles = [r["cycle"] for r in entry["rows"]]
    assert len(cycles) == lc.TIMELINE_ROWS and cycles[0] == "16.04" and cycles[-1] == "26.04"
    assert "24.04" in cycles


def test_timeline_without_data(requester, component_a):
    with clock.frozen(TODAY):
        (entry,) = lc.timeline(_request(requester, component_a, "16.4"))
    assert entry["rows"] == [] and entry["svg"] is None
    html = render_to_string("assessments/partials/lifecycle_timeline.html", {"timeline": [entry]})
    assert "No lifecycle data for postgresql" in html
