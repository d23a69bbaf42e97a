"""The gate apps/assessments owns: finishing the assessment needs a completed one, nothing blocking."""

from .choices import AssessmentStatus


def assessment_complete(request) -> list[str]:
    from .models import Assessment
    from .services import open_blocking

    assessment = Assessment.objects.filter(request=request).first()
    if assessment is None:
        return ["Run the readiness assessment (the assessor starts it on the assessment page)."]
    reasons = [f"Open blocking finding: {f.title}" for f in open_blocking(assessment)]
    if assessment.status != AssessmentStatus.COMPLETED:
        reasons.append("Complete the readiness assessment.")
    return reasons


def register_gates() -> None:
    from apps.upgrades import gates

    gates.register("finish_assessment", "assessment_complete", "assessments", assessment_complete)
