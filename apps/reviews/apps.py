from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "apps.reviews"
    label = "reviews"
    verbose_name = "Reviews and sustainment"

    def ready(self) -> None:
        from . import registry_patches, registry_pir

        registry_pir.register()
        registry_patches.register()

        from apps.upgrades import stages

        stages.register("review", label="Post-implementation review", url_name="reviews:request", order=60,
                        description="how it went, lessons, follow-ups, runbooks, documentation and training to "
                                    "update before closing",
                        visible=stages.in_states("completed", "rolled_back", "failed", "closed"))
