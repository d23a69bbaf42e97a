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
