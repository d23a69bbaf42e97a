"""Baselines: a baseline run samples each check several times; later runs are compared with it."""

import datetime as dt

import pytest

from apps.audit.models import AuditEvent
from apps.execution import health
from apps.execution.models import Baseline, CheckResult

from .conftest import run_now


@pytest.mark.django_db
def test_baseline_run_samples_each_check_and_captures_percentiles(upgrade, http_server, allow_local, make_check,
                                                                 implementer):
    http_server.delays["api"] = 40
    check = make_check("http", http_server.url("/var/api"))
    run = run_now([check], implementer, purpose="baseline", request=upgrade)
    assert http_server.connections == health.BASELINE_SAMPLES  # 5 probes of the one check
    result = CheckResult.objects.get(run=run)
    assert len(result.samples) == health.BASELINE_SAMPLES and result.detail.startswith("5 of 5 probes passed")
    baseline = Baseline.objects.get(request=upgrade, health_check=check)
    assert baseline.samples == 5 and baseline.error_rate == 0 and baseline.run_id == run.pk
    assert 40 <= baseline.p50_ms <= baseline.p95_ms <= baseline.p99_ms
    event = AuditEvent.objects.filter(action="baseline.capture").get()
    assert event.data["figures"][str(check.pk)]["p95_ms"] == baseline.p95_ms
    # capturing again from the same run changes nothing
    assert health.baseline_capture(request=upgrade, run=run, by=implementer)[0].pk == baseline.pk
    assert Baseline.objects.count() == 1


@pytest.mark.django_db
def test_post_upgrade_run_is_compared_and_regressions_are_highlighted(upgrade, http_server, allow_local, make_check,
                                                                     implementer, login):
    http_server.delays.update(api=10, db=10, web=10)
    api = make_check("http", http_server.url("/var/api"))
    steady = make_check("http", http_server.url("/var/db"))
    broken = make_check("http", http_server.url("/var/web"))
    run_now([api, steady, broken], implementer, purpose="baseline", request=upgrade)

    http_server.delays["api"] = 400  # much slower after the upgrade
    http_server.statuses["web"] = 500  # and one endpoint fails
    post = run_now([api, steady, broken], implementer, purpose="post_check", request=upgrade)
    rows = {r["health_check_id"]: r for r in health.baseline_compare(request=upgrade, run=post)}
    assert rows[api.pk]["regression"] and rows[api.pk]["delta_ms"] > 300 and rows[api.pk]["delta_pct"] > 100
    assert "latency" in rows[api.pk]["reasons"][0]
    assert not rows[steady.pk]["regression"] and rows[steady.pk]["baseline"]
    assert rows[broken.pk]["regression"] and "error rate 100% against 0%" in rows[broken.pk]["reasons"]
    assert [r["regression"] for r in health.baseline_compare(request=upgrade, run=post)] == [True, True, False]

    page = login(implementer).get(f"/health/runs/{post.pk}/").content.decode()
    assert "Compared with the baseline" in page and page.count("Regression:") == 2 and "as before" in page


@pytest.mark.django_db
def test_small_differences_are_not_regressions(upgrade, http_server, allow_local, make_check, implementer):
    http_server.delays["api"] = 100
    api = make_check("http", http_server.url("/var/api"))
    run_now([api], implementer, purpose="baseline", request=upgrade)
    http_server.delays["api"] = 130  # +30 ms: under the absolute threshold
    post = run_now([api], implementer, purpose="post_check", request=upgrade)
    (row,) = health.baseline_compare(request=upgrade, run=post)
    assert row["baseline"] and not row["regression"] and row["delta_ms"] < health.REGRESSION_ABS_MS


@pytest.mark.django_db
def test_window_and_run_metrics(http_server, allow_local, make_check, implementer, frozen_now):
    check = make_check("http", http_server.url("/var/api"))
    run_now([check], implementer)
    http_server.statuses["api"] = 503
    run_now([check], implementer)
    last = run_now([check], implementer)
    metrics = health.window_metrics([check], frozen_now - dt.timedelta(minutes=5))[check.pk]
    assert (metrics["samples"], metrics["failures"], metrics["consecutive_failures"]) == (3, 2, 2)
    assert metrics["error_rate"] == pytest.approx(2 / 3)
    assert metrics["p50_ms"] is not None and metrics["p95_ms"] >= metrics["p50_ms"]
    assert health.run_metrics(last)[check.pk]["status"] == "fail"
    # results carry the (frozen) clock of the run, so windows line up with the rest of Tollgate
    assert CheckResult.objects.filter(checked_at__gte=frozen_now - dt.timedelta(seconds=5)).count() == 3
    assert health.window_metrics([check], frozen_now + dt.timedelta(minutes=1))[check.pk]["samples"] == 0


def test_percentile_is_nearest_rank():
    assert health.percentile([10, 20, 30, 40, 50], 50) == 30
    assert health.percentile([10, 20, 30, 40, 50], 95) == 50
    assert health.percentile([], 95) is None
