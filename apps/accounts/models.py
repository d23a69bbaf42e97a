import zoneinfo

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.functional import cached_property

from .choices import Duty, NotificationChannel, Role


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"“{value}” is not a time zone Tollgate knows (use e.g. Europe/Berlin).")


class Team(models.Model):
    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=120, unique=True)
    email = models.EmailField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    teams = models.ManyToManyField(Team, blank=True, related_name="members")
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    notify_channel = models.CharField(
        max_length=20, choices=NotificationChannel.choices, default=NotificationChannel.EMAIL_AND_APP
    )
    notify_on_assignment = models.BooleanField(default=True)
    notify_on_decision = models.BooleanField(default=True)
    is_service_account = models.BooleanField(
        default=False, help_text="A non-human account for automation: it authenticates with API tokens only."
    )
    service_owner = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="service_accounts"
    )
    regions = models.CharField(
        max_length=200, blank=True, default="",
        help_text="Comma-separated regions this person is limited to (data sovereignty), e.g. "
                  "“eu-central,eu-west”; empty: not limited.",
    )

    class Meta:
        ordering = ["username"]

    @property
    def region_list(self) -> frozenset[str]:
        """The regions this person is limited to (data sovereignty); empty: not limited."""
        return frozenset(r.strip() for r in (self.regions or "").split(",") if r.strip())

    @cached_property
    def role_names(self) -> frozenset[str]:
        names = {g.name for g in self.groups.all()}
        if self.is_superuser:
            names.add(Role.ADMIN)
        return frozenset(names)

    def has_role(self, *roles: str) -> bool:
        return bool(self.role_names.intersection(roles))

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username


class SodRule(models.Model):
    """One cell of the segregation-of-duties policy, per risk class.

    A missing row means the default policy in `sod.DEFAULT_POLICY` applies.
    """

    risk_class = models.CharField(max_length=20)
    duty_a = models.CharField(max_length=20, choices=Duty.choices)
    duty_b = models.CharField(max_length=20, choices=Duty.choices)
    allowed = models.BooleanField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["risk_class", "duty_a", "duty_b"], name="sod_rule_unique_cell")
        ]


class ApiTokenInfo(models.Model):
    """What a person calls a token and why; the secret itself is knox's hashed digest."""

    token = models.OneToOneField("knox.AuthToken", on_delete=models.CASCADE, related_name="info")
    name = models.CharField(max_length=100)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")


class Notification(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    verb = models.CharField(max_length=40)
    message = models.CharField(max_length=500)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)
    emailed = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "read_at"])]


class StepUpToken(models.Model):
    """Proof of a re-authentication within the last minutes, for signing through the API.

    Obtained by posting the password to /api/v1/auth/step-up/; only the SHA-256 of the
    secret is kept. CAB votes, freeze-exception decisions, UAT sign-offs and validations
    accept it instead of a password field.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="step_up_tokens")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
