from django.urls import path

from . import views

app_name = "upgrades"
urlpatterns = [
    path("", views.request_list, name="list"),
    path("new/", views.request_create, name="create"),
    path("<str:reference>/", views.request_detail, name="detail"),
    path("<str:reference>/edit/", views.request_edit, name="edit"),
    path("<str:reference>/transition/<str:name>/", views.request_transition, name="transition"),
    path("<str:reference>/people/", views.request_assign, name="assign"),
    path("<str:reference>/people/remove/", views.request_unassign, name="unassign"),
    path("<str:reference>/comments/", views.request_comment, name="comment"),
    path("<str:reference>/attachments/", views.request_attach, name="attach"),
    path("<str:reference>/attachments/<int:pk>/", views.attachment_download, name="attachment"),
    path("<str:reference>/revise/", views.request_revise, name="revise"),
]
