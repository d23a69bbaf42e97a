from django.views.generic import RedirectView
from django.urls import path

from . import views_board as v

app_name = "cab_board"
urlpatterns = [
    path("", RedirectView.as_view(pattern_name="cab_board:queue", permanent=False), name="home"),
    path("queue/", v.queue, name="queue"),
    path("review/<str:reference>/", v.review, name="review"),
    path("review/<str:reference>/comment/", v.review_comment, name="review_comment"),
    path("review/<str:reference>/return/", v.review_return, name="review_return"),
    path("meetings/", v.meeting_list, name="meetings"),
    path("meetings/new/", v.meeting_create, name="meeting_create"),
    path("meetings/<int:pk>/", v.meeting_detail, name="meeting"),
    path("meetings/<int:pk>/agenda/", v.meeting_agenda_add, name="agenda_add"),
    path("meetings/<int:pk>/agenda/from-queue/", v.meeting_agenda_from_queue, name="agenda_from_queue"),
    path("meetings/<int:pk>/attendance/", v.meeting_attendance, name="attendance"),
    path("meetings/<int:pk>/items/<int:item_pk>/decide/", v.meeting_decide, name="decide"),
    path("meetings/<int:pk>/minutes/", v.meeting_minutes, name="minutes"),
    path("meetings/<int:pk>/minutes.pdf", v.meeting_pdf, name="minutes_pdf"),
    path("freeze-exceptions/", v.exception_list, name="exceptions"),
    path("freeze-exceptions/<int:pk>/", v.exception_detail, name="exception"),
]
