from django.db import models


class Criticality(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


CRITICALITY_RANK = {"low": 1, "medium": 2, "high": 3, "critical": 4}


class EnvironmentKind(models.TextChoices):
    PRODUCTION = "production", "Production"
    STAGING = "staging", "Staging"
    DR = "dr", "Disaster recovery"
    TEST = "test", "Test"
    DEVELOPMENT = "development", "Development"


class ConstraintKind(models.TextChoices):
    PEP440 = "pep440", "PEP 440 (Python)"
    SEMVER = "semver", "Semver-style range"


class EndpointKind(models.TextChoices):
    HTTP = "http", "HTTP(S)"
    TCP = "tcp", "TCP connect"
    SQL = "sql", "SQL probe"
    TLS = "tls", "TLS certificate"


class ImportKind(models.TextChoices):
    SYSTEMS = "systems", "Systems"
    ENVIRONMENTS = "environments", "Environments"
    COMPONENTS = "components", "Components"
    DEPENDENCIES = "dependencies", "Dependencies"
    ENDPOINTS = "endpoints", "Health endpoints"


class ImportStatus(models.TextChoices):
    PREVIEWED = "previewed", "Previewed"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
