from django.urls import path

from . import views

app_name = "calendar"
urlpatterns = [
    path("", views.month, name="month"),
    path("week/", views.week, name="week"),
    path("day/", views.day, name="day"),
    path("freezes/", views.freezes, name="freezes"),
    path("freezes/new/", views.freeze_create, name="freeze_create"),
    path("freezes/<int:pk>/", views.freeze_edit, name="freeze_edit"),
    path("freezes/<int:pk>/lift/", views.freeze_lift, name="freeze_lift"),
    path("approved-windows/", views.approved_windows, name="windows"),
    path("approved-windows/new/", views.approved_window_create, name="window_create"),
    path("approved-windows/<int:pk>/delete/", views.approved_window_delete, name="window_delete"),
    path("requests/<str:reference>/", views.request_schedule, name="request"),
    path("requests/<str:reference>/refresh/", views.request_refresh, name="refresh"),
    path("requests/<str:reference>/conflicts/<int:pk>/accept/", views.conflict_accept, name="conflict_accept"),
    path("requests/<str:reference>/freeze-exceptions/", views.exception_request, name="exception_request"),
    path("feeds/", views.feeds, name="feeds"),
    path("feeds/new/", views.feed_create, name="feed_create"),
    path("feeds/<int:pk>/revoke/", views.feed_revoke, name="feed_revoke"),
    path("feed/<str:token>.ics", views.feed, name="feed"),
]
