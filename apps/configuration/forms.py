from django import forms

_Form = forms.Form


class _UniqueIds(_Form):
    """Several forms share a page: each gets its own element ids (labels point at the right field)."""

    id_prefix = "f"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", f"{self.id_prefix}_%s")
        super().__init__(*args, **kwargs)

from apps.inventory.models import Environment

from .choices import ExceptionReason, MaskingMethod, SnapshotFormat, SnapshotPurpose, TopologyKind


class SnapshotForm(_UniqueIds):
    id_prefix = "snap"
    system = forms.ModelChoiceField(queryset=None, label="System")
    environment = forms.ModelChoiceField(queryset=Environment.objects.order_by("order", "name"), label="Environment")
    tag = forms.CharField(max_length=80, label="Tag", help_text="A short label, e.g. before-pg16.")
    purpose = forms.ChoiceField(choices=SnapshotPurpose.choices, initial=SnapshotPurpose.STAGING_EVIDENCE,
                                label="What the snapshot is for")
    format = forms.ChoiceField(choices=[("", "From the file name")] + [
        c for c in SnapshotFormat.choices if c[0] != SnapshotFormat.KEYVALUE], required=False, label="Format")
    file = forms.FileField(required=False, label="Configuration file",
                           help_text="JSON, YAML, INI or .env; secrets are masked before anything is stored.")
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), required=False, label="…or paste it",
                           help_text="Pasted text needs the format chosen above.")

    def __init__(self, *args, systems=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["system"].queryset = systems

    def clean(self):
        data = super().clean()
        if not data.get("file") and not (data.get("text") or "").strip():
            self.add_error("file", "Choose a file or paste the configuration.")
        if data.get("text") and not data.get("file") and not data.get("format"):
            self.add_error("format", "Say which format the pasted text is in.")
        return data


class SystemSnapshotForm(SnapshotForm):
    """The routine snapshot of a system's page: no request, so no purpose to choose."""

    purpose = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.pop("system")


class JunitForm(_UniqueIds):
    id_prefix = "junit"
    file = forms.FileField(label="JUnit XML report", help_text="From pytest --junitxml, Maven Surefire, Jest …")
    name = forms.CharField(max_length=200, required=False, label="Name (optional)")
    wave = forms.ModelChoiceField(queryset=None, required=False, label="Wave (optional)")

    def __init__(self, *args, waves=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["wave"].queryset = waves


class AcceptForm(_UniqueIds):
    id_prefix = "accept"
    justification = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="Why this failure is acceptable")


class TopologyForm(_UniqueIds):
    id_prefix = "topo"
    system = forms.ModelChoiceField(queryset=None, label="System")
    environment = forms.ModelChoiceField(queryset=None, label="Environment")
    kind = forms.ChoiceField(choices=TopologyKind.choices, label="Element")
    name = forms.CharField(max_length=120, label="Name", help_text="e.g. public load balancer")
    value = forms.CharField(max_length=300, label="What it is", help_text="e.g. HAProxy 2.8, 2 nodes")

    def __init__(self, *args, systems=None, environments=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["system"].queryset = systems
        self.fields["environment"].queryset = environments


class MaskingForm(_UniqueIds):
    id_prefix = "mask"
    system = forms.ModelChoiceField(queryset=None, label="System")
    masked = forms.TypedChoiceField(choices=[("yes", "Yes, a masked copy"), ("no", "No, raw production data")],
                                    coerce=lambda v: v == "yes", label="Is the staging data masked?")
    method = forms.ChoiceField(choices=MaskingMethod.choices, label="Method")
    masked_by = forms.CharField(max_length=200, label="Masked by", help_text="Person or tool that masked it.")
    masked_on = forms.DateField(label="Masked on", widget=forms.DateInput(attrs={"type": "date"}))
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, label="Notes")

    def __init__(self, *args, systems=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["system"].queryset = systems


class PerformanceForm(_UniqueIds):
    id_prefix = "perf"
    metric = forms.CharField(max_length=120, label="Metric", help_text="e.g. p95 latency of /payments")
    unit = forms.CharField(max_length=20, required=False, label="Unit")
    before = forms.DecimalField(max_digits=16, decimal_places=4, label="Before the upgrade")
    after = forms.DecimalField(max_digits=16, decimal_places=4, label="After the upgrade")
    higher_is_better = forms.BooleanField(required=False, label="Higher is better (throughput)")
    tolerance_percent = forms.DecimalField(max_digits=6, decimal_places=2, initial=10, label="Tolerance (%)")
    system = forms.ModelChoiceField(queryset=None, required=False, label="System (optional)")

    def __init__(self, *args, systems=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["system"].queryset = systems


class SignoffForm(_UniqueIds):
    id_prefix = "sign"
    password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
                               label="Your password (to sign)")
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, label="Comment")


class ExceptionForm(_UniqueIds):
    id_prefix = "exc"
    system = forms.ModelChoiceField(queryset=None, label="System")
    environment = forms.ModelChoiceField(queryset=Environment.objects.order_by("order", "name"), required=False,
                                         label="Environment", empty_label="Every environment")
    key_pattern = forms.CharField(max_length=300, label="Settings covered",
                                  help_text="A key path like db.pool.size, or db.pool.* for everything under it.")
    reason_kind = forms.ChoiceField(choices=ExceptionReason.choices, label="Reason")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="Explanation")
    expires_at = forms.DateTimeField(label="Expires", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                                     help_text="In your time zone.")

    def __init__(self, *args, systems=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["system"].queryset = systems


class DecideForm(_UniqueIds):
    id_prefix = "decide"
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("refuse", "Refuse")])
    reason = forms.CharField(required=False, max_length=5000, label="Reason (needed to refuse)")


class BaselineForm(_UniqueIds):
    id_prefix = "base"
    note = forms.CharField(required=False, max_length=5000, label="Note")
