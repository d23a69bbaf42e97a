from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    """One link of the append-only, hash-chained audit trail.

    The database refuses UPDATE and DELETE on this table (see triggers.py);
    the only delete it allows is the guarded retention path.
    """

    seq = models.BigIntegerField(unique=True)
    created_at = models.DateTimeField(db_index=True)
    # no database constraint: a user row may change, the event never does
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=80, db_index=True)
    object_type = models.CharField(max_length=80, blank=True, db_index=True)
    object_id = models.CharField(max_length=64, blank=True, db_index=True)
    object_repr = models.CharField(max_length=300, blank=True)
    ip = models.CharField(max_length=45, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-seq"]
        indexes = [models.Index(fields=["object_type", "object_id", "seq"])]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_repr}"


class ChainHead(models.Model):
    """The single row every append locks, so concurrent writers never fork the chain."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)
    # the newest event that may change what someone sees in a list or in "My work" (every event but the
    # ones audit.services.changes_what_is_shown() leaves out: comments, refusals, downloads, sign-ins): the key
    # of the per-person caches, so a comment does not make every reader's lists and counts be read again
    shown_seq = models.BigIntegerField(default=0)


class AuditCheckpoint(models.Model):
    """An exported chain head an auditor keeps elsewhere; a recomputed chain no longer matches it."""

    seq = models.BigIntegerField()
    hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    signature = models.CharField(max_length=64)

    class Meta:
        ordering = ["-seq"]


class RetentionPolicy(models.Model):
    """How long one kind of artifact is kept, in one region ('' = every region without its own policy)."""

    kind = models.CharField(max_length=40, help_text="A registered artifact kind, e.g. attachments.")
    region = models.CharField(max_length=40, blank=True,
                              help_text="Empty: every region without its own policy.")
    days = models.PositiveIntegerField(help_text="Kept this many days after it was recorded.")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["kind", "region"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "region"], name="one_retention_policy_per_kind_region"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} ({self.region or 'all regions'}): {self.days} days"


class LegalHold(models.Model):
    """Keeps an object (or everything of an upgrade request) from retention until it is lifted."""

    object_type = models.CharField(max_length=80,
                                   help_text="e.g. upgrades.upgraderequest or upgrades.attachment")
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=300, blank=True)
    reason = models.TextField()
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    set_at = models.DateTimeField()
    lifted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    lifted_at = models.DateTimeField(null=True, blank=True)
    lift_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-set_at", "-pk"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"Legal hold on {self.object_repr or self.object_type + ' ' + self.object_id}"

    @property
    def active(self) -> bool:
        return self.lifted_at is None


class ArchivedSegment(models.Model):
    """A contiguous run of audit events moved to an archive file before it was purged."""

    first_seq = models.BigIntegerField()
    last_seq = models.BigIntegerField()
    prev_hash = models.CharField(max_length=64, help_text="The hash the first event continues.")
    last_hash = models.CharField(max_length=64)
    count = models.PositiveIntegerField()
    path = models.CharField(max_length=300, help_text="Relative to the archive storage.")
    sha256 = models.CharField(max_length=64, help_text="SHA-256 of the archive file.")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-last_seq"]


class ArchivedArtifact(models.Model):
    """One artifact retention moved to the archive storage (with its hash) before deleting it."""

    kind = models.CharField(max_length=40)
    object_type = models.CharField(max_length=80)
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=300, blank=True)
    path = models.CharField(max_length=300, help_text="Relative to the archive storage.")
    sha256 = models.CharField(max_length=64)
    archived_at = models.DateTimeField()

    class Meta:
        ordering = ["-archived_at", "-pk"]
