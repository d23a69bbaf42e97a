from django.apps import AppConfig


class CabConfig(AppConfig):
    name = "apps.cab"
    label = "cab"
    verbose_name = "Change advisory board"

    def ready(self) -> None:
        from . import gates, meetings, seed

        gates.register_gates()
        meetings.register()
        seed.register()

        from apps.upgrades import stages
        from apps.upgrades.choices import CAB_VISIBLE_STATES

        stages.register("cab_review", label="CAB review", url_name="cab_board:review", order=40,
                        description="votes, conditions and the plan version under review",
                        visible=stages.in_states(*CAB_VISIBLE_STATES))
        stages.register("conditions", label="Approval conditions", url_name="cab:conditions", order=45,
                        description="to acknowledge before execution",
                        visible=stages.in_states(*CAB_VISIBLE_STATES))
