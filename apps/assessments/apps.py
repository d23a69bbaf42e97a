from django.apps import AppConfig

# The "finish_assessment" gate. Off until the upgrade tests that call upgrade_transition("finish_assessment")
# directly, and the seed test that replaces the seed hooks, pass an assessment first
# (services.assessment_pass).
REGISTER_GATE = True


class AssessmentsConfig(AppConfig):
    name = "apps.assessments"
    label = "assessments"
    verbose_name = "Readiness assessments"

    def ready(self) -> None:
        from apps.core import inbox
        from apps.core.seed import register_before

        from . import (capacity, checklists, compat, gates, graph, lifecycle, selectors, services, tasks,
                       workflows)

        for module in (compat, graph, lifecycle, capacity, checklists, workflows):
            module.register_checks()
        inbox.register("assessments.findings", selectors.inbox_findings)
        inbox.register("assessments.to_run", selectors.inbox_assessments)
        register_before("finish_assessment", services.seed_before_finish_assessment)
        tasks.schedule()
        if REGISTER_GATE:
            gates.register_gates()
