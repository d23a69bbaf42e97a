from django.urls import path

from . import views

app_name = "audit"
urlpatterns = [
    path("", views.event_list, name="list"),
    path("events/<int:seq>/", views.event_detail, name="detail"),
    path("checkpoint/", views.checkpoint, name="checkpoint"),
]
