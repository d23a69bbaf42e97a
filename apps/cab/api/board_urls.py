from django.urls import path

from . import board_views as v

urlpatterns = [
    path("cab/queue/", v.QueueView.as_view(), name="cab-queue"),
    path("cab/meetings/", v.MeetingListView.as_view(), name="cab-meetings"),
    path("cab/meetings/<int:pk>/", v.MeetingDetailView.as_view(), name="cab-meeting"),
    path("cab/meetings/<int:pk>/minutes/", v.MeetingMinutesView.as_view(), name="cab-meeting-minutes"),
    path("cab/meetings/<int:pk>/minutes.pdf", v.MeetingPdfView.as_view(), name="cab-meeting-pdf"),
    path("cab/meetings/<int:pk>/agenda/", v.AgendaView.as_view(), name="cab-meeting-agenda"),
    path("cab/meetings/<int:pk>/agenda/from-queue/", v.AgendaFromQueueView.as_view(),
         name="cab-meeting-agenda-from-queue"),
    path("cab/meetings/<int:pk>/agenda/<int:item_pk>/decision/", v.AgendaDecisionView.as_view(),
         name="cab-agenda-decision"),
    path("cab/meetings/<int:pk>/attendance/", v.AttendanceView.as_view(), name="cab-meeting-attendance"),
    path("cab/freeze-exceptions/", v.FreezeExceptionListView.as_view(), name="cab-freeze-exceptions"),
    path("cab/freeze-exceptions/<int:pk>/decision/", v.FreezeExceptionDecisionView.as_view(),
         name="cab-freeze-exception-decision"),
]
