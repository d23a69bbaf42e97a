from django.urls import path

from . import views

P = "configuration/"
urlpatterns = [
    path(P + "snapshots/", views.SnapshotListView.as_view(), name="configuration-snapshots"),
    path(P + "snapshots/diff/", views.SnapshotDiffView.as_view(), name="configuration-diff"),
    path(P + "snapshots/<int:pk>/", views.SnapshotDetailView.as_view(), name="configuration-snapshot"),
    path(P + "snapshots/<int:pk>/baseline/", views.SnapshotBaselineView.as_view(), name="configuration-baseline"),
    path(P + "baselines/", views.BaselineListView.as_view(), name="configuration-baselines"),
    path(P + "exceptions/", views.ExceptionListView.as_view(), name="configuration-exceptions"),
    path(P + "exceptions/<int:pk>/decide/", views.ExceptionDecideView.as_view(), name="configuration-exception-decide"),
    path(P + "requests/<str:reference>/", views.RequestConfigurationView.as_view(), name="configuration-request"),
    path(P + "requests/<str:reference>/junit/", views.JunitImportView.as_view(), name="configuration-junit"),
    path(P + "requests/<str:reference>/junit/cases/<int:pk>/accept/", views.FailureAcceptView.as_view(),
         name="configuration-accept"),
    path(P + "requests/<str:reference>/topology/", views.TopologyView.as_view(), name="configuration-topology"),
    path(P + "requests/<str:reference>/masking/", views.MaskingView.as_view(), name="configuration-masking"),
    path(P + "requests/<str:reference>/performance/", views.PerformanceView.as_view(),
         name="configuration-performance"),
    path(P + "requests/<str:reference>/signoffs/", views.SignoffView.as_view(), name="configuration-signoffs"),
]
