from django.urls import path

from . import views as v

P = "plans/<str:reference>/"
urlpatterns = [
    path(P, v.PlanView.as_view(), name="plan-detail"),
    path(P + "waves/", v.WaveListView.as_view(), name="plan-waves"),
    path(P + "waves/<int:pk>/", v.WaveDetailView.as_view(), name="plan-wave"),
    path(P + "waves/<int:pk>/tiers/", v.TierListView.as_view(), name="plan-wave-tiers"),
    path(P + "tiers/<int:pk>/", v.TierDetailView.as_view(), name="plan-tier"),
    path(P + "triggers/", v.TriggerListView.as_view(), name="plan-triggers"),
    path(P + "triggers/<int:pk>/", v.TriggerDetailView.as_view(), name="plan-trigger"),
    path(P + "steps/", v.StepListView.as_view(), name="plan-steps"),
    path(P + "steps/<int:pk>/", v.StepDetailView.as_view(), name="plan-step"),
    path(P + "fallbacks/", v.FallbackListView.as_view(), name="plan-fallbacks"),
    path(P + "fallbacks/<int:pk>/", v.FallbackDetailView.as_view(), name="plan-fallback"),
    path(P + "versions/", v.VersionListView.as_view(), name="plan-versions"),
    path(P + "versions/diff/", v.VersionDiffView.as_view(), name="plan-version-diff"),
    path(P + "versions/<int:number>/", v.VersionDetailView.as_view(), name="plan-version"),
]
