from django.db import models


class ReportStatus(models.TextChoices):
    QUEUED = "queued", "Waiting for a worker"
    RUNNING = "running", "Being generated"
    DONE = "done", "Ready"
    FAILED = "failed", "Failed"


class Frequency(models.TextChoices):
    MONTHLY = "monthly", "Monthly (the previous calendar month, on the 1st)"
    WEEKLY = "weekly", "Weekly (the previous week, on Mondays)"


class Delivery(models.TextChoices):
    LINK = "link", "A link to the report"
    ATTACHMENT = "attachment", "The PDF and CSV attached"
