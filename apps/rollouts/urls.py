from django.urls import path

from . import views

app_name = "rollouts"
urlpatterns = [
    path("<str:reference>/plan/", views.plan_detail, name="plan"),
    path("<str:reference>/plan/strategy/", views.strategy_save, name="strategy"),
    path("<str:reference>/plan/data-migration/", views.data_migration_save, name="data_migration"),
    path("<str:reference>/plan/waves/", views.wave_add, name="wave_add"),
    path("<str:reference>/plan/waves/<int:pk>/", views.wave_edit, name="wave_edit"),
    path("<str:reference>/plan/waves/<int:pk>/delete/", views.wave_delete, name="wave_delete"),
    path("<str:reference>/plan/waves/<int:pk>/tiers/", views.tier_add, name="tier_add"),
    path("<str:reference>/plan/tiers/<int:pk>/delete/", views.tier_delete, name="tier_delete"),
    path("<str:reference>/plan/triggers/", views.trigger_add, name="trigger_add"),
    path("<str:reference>/plan/triggers/<int:pk>/delete/", views.trigger_delete, name="trigger_delete"),
    path("<str:reference>/plan/steps/", views.step_add, name="step_add"),
    path("<str:reference>/plan/steps/<int:pk>/", views.step_edit, name="step_edit"),
    path("<str:reference>/plan/steps/<int:pk>/delete/", views.step_delete, name="step_delete"),
    path("<str:reference>/plan/fallbacks/", views.fallback_save, name="fallback_save"),
    path("<str:reference>/plan/fallbacks/<int:pk>/delete/", views.fallback_delete, name="fallback_delete"),
    path("<str:reference>/plan/versions/", views.version_list, name="versions"),
    path("<str:reference>/plan/versions/<int:number>/", views.version_detail, name="version"),
]
