from django.urls import path

from . import calendar_views as v

urlpatterns = [
    path("calendar/", v.CalendarView.as_view(), name="calendar"),
    path("freezes/", v.FreezeListView.as_view(), name="freeze-list"),
    path("freezes/<int:pk>/", v.FreezeDetailView.as_view(), name="freeze-detail"),
    path("freezes/<int:pk>/lift/", v.FreezeLiftView.as_view(), name="freeze-lift"),
    path("approved-windows/", v.ApprovedWindowListView.as_view(), name="approved-window-list"),
    path("approved-windows/<int:pk>/", v.ApprovedWindowDetailView.as_view(), name="approved-window-detail"),
    path("upgrades/<str:reference>/conflicts/", v.ConflictListView.as_view(), name="upgrade-conflicts"),
    path("conflicts/<int:pk>/accept/", v.ConflictAcceptView.as_view(), name="conflict-accept"),
    path("upgrades/<str:reference>/freeze-exceptions/", v.FreezeExceptionListView.as_view(),
         name="upgrade-freeze-exceptions"),
]
