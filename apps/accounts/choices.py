from django.db import models


class Role(models.TextChoices):
    CHANGE_MANAGER = "change_manager", "Change manager"
    CAB_MEMBER = "cab_member", "CAB member"
    IMPLEMENTER = "implementer", "Implementer"
    VALIDATOR = "validator", "Validator"
    EXECUTIVE = "executive", "Executive"
    AUDITOR = "auditor", "Auditor"
    ADMIN = "admin", "Administrator"


class Duty(models.TextChoices):
    REQUESTER = "requester", "Requester"
    ASSESSOR = "assessor", "Assessor"
    APPROVER = "approver", "Approver"
    IMPLEMENTER = "implementer", "Implementer"
    VALIDATOR = "validator", "Validator"


# the role a person needs to be given a duty
DUTY_ROLE = {
    Duty.REQUESTER: Role.CHANGE_MANAGER,
    Duty.ASSESSOR: Role.CHANGE_MANAGER,
    Duty.APPROVER: Role.CAB_MEMBER,
    Duty.IMPLEMENTER: Role.IMPLEMENTER,
    Duty.VALIDATOR: Role.VALIDATOR,
}


class NotificationChannel(models.TextChoices):
    EMAIL_AND_APP = "email_and_app", "E-mail and in-app"
    APP_ONLY = "app_only", "In-app only"
