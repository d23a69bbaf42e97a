from django.db import models


class SnapshotFormat(models.TextChoices):
    JSON = "json", "JSON"
    YAML = "yaml", "YAML"
    INI = "ini", "INI"
    ENV = "env", ".env (KEY=value lines)"
    KEYVALUE = "keyvalue", "Key/value document (API)"


class SnapshotPurpose(models.TextChoices):
    ROUTINE = "routine", "Routine capture"
    PRE_UPGRADE = "pre_upgrade", "Before the upgrade (what a backout restores)"
    POST_UPGRADE = "post_upgrade", "After the upgrade"
    STAGING_EVIDENCE = "staging", "Staging evidence"


class ExceptionReason(models.TextChoices):
    REGIONAL_COMPLIANCE = "regional_compliance", "Regional compliance"
    PERFORMANCE_TUNING = "performance_tuning", "Performance tuning"
    VENDOR_REQUIREMENT = "vendor_requirement", "Vendor requirement"
    TEMPORARY_WORKAROUND = "temporary_workaround", "Temporary workaround"
    OTHER = "other", "Other"


class ExceptionStatus(models.TextChoices):
    REQUESTED = "requested", "Waiting for approval"
    APPROVED = "approved", "Approved"
    REFUSED = "refused", "Refused"
    REVOKED = "revoked", "Revoked"


class TopologyKind(models.TextChoices):
    LOAD_BALANCER = "load_balancer", "Load balancer"
    FIREWALL = "firewall", "Firewall"
    CLUSTER = "cluster", "Clustered service"
    VERSION = "version", "Software version"
    OTHER = "other", "Other"


class MaskingMethod(models.TextChoices):
    SUBSTITUTION = "substitution", "Substitution with fake values"
    TOKENISATION = "tokenisation", "Tokenisation"
    SHUFFLING = "shuffling", "Shuffling"
    SYNTHETIC = "synthetic", "Synthetic data (no production copy)"
    NONE = "none", "Not masked (raw production copy)"


class CaseOutcome(models.TextChoices):
    PASSED = "passed", "Passed"
    FAILED = "failed", "Failed"
    ERROR = "error", "Error"
    SKIPPED = "skipped", "Skipped"
