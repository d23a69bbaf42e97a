"""Shared material of the configuration tests: environments, real-looking configuration documents."""

import json

import pytest

from apps.audit.models import AuditEvent
from apps.configuration.models import (Baseline, ConfigException, MaskingRecord, PerformanceFigure,
                                       RegressionReport, Snapshot, TestCaseResult, TopologyItem, UatSignoff)
from apps.inventory.models import BusinessWorkflow

from ..factories import EnvironmentFactory
from ..upgrades.conftest import drive  # noqa: F401  (the fixture)

PROD = {
    "service": {"name": "core-ledger", "port": 8443, "workers": 16},
    "database": {"host": "ledger-db.prod.bank.example", "port": 5432, "pool": {"size": 40, "timeout_s": 30},
                 "password": "pr0d-S3cret!"},
    "features": {"instant_payments": True, "legacy_export": True},
    "hosts": ["app1.prod", "app2.prod"],
    "api_token": "tok-prod-123",
}
STAGING = {
    "service": {"name": "core-ledger", "port": 8443, "workers": 8},
    "database": {"host": "ledger-db.staging.bank.example", "port": 5432, "pool": {"size": 40, "timeout_s": 30},
                 "password": "st4ging-S3cret!"},
    "features": {"instant_payments": True, "batch_v2": True},
    "hosts": ["app1.staging"],
    "api_token": "tok-prod-123",
}
YAML_PROD = """\
server:
  tls:
    min_version: "1.2"
    cert_file: /etc/ledger/tls.crt
    private_key: |
      -----BEGIN PRIVATE KEY-----
      MIIEvQIBADANBgkqhkiG9w0BAQEFAASC
      -----END PRIVATE KEY-----
  threads: 32
cache:
  redis_url: redis://cache.prod:6379/0
  ttl_seconds: 600
"""
YAML_STAGING = YAML_PROD.replace('min_version: "1.2"', 'min_version: "1.3"').replace(
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", "MIIEstagingDIFFERENTKEYMATERIAL0").replace("ttl_seconds: 600\n", "")
INI_PROD = """\
[DEFAULT]
log_level = INFO

[database]
host = ledger-db.prod
port = 5432
password = hunter2

[scheduler]
max_jobs = 12
"""
INI_STAGING = INI_PROD.replace("max_jobs = 12", "max_jobs = 4\nquiet_hours = 22-06").replace(
    "hunter2", "hunter3")


def as_json(data) -> bytes:
    return json.dumps(data, indent=2).encode()


@pytest.fixture
def staging(db):
    return EnvironmentFactory(name="Staging", slug="staging", kind="staging", order=1)


@pytest.fixture
def planning(upgrade, drive, staging, production):  # noqa: F811
    return drive(upgrade, "planning")


def counts() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in (
        Snapshot, Baseline, ConfigException, MaskingRecord, PerformanceFigure, RegressionReport, TestCaseResult,
        TopologyItem, UatSignoff, BusinessWorkflow)}


def audit_count() -> int:
    return AuditEvent.objects.count()
