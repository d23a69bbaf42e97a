from django.http import HttpResponse


def _todo(request, *args, **kwargs):
    return HttpResponse(status=501)


request_list = request_create = request_detail = request_edit = request_transition = _todo
request_assign = request_unassign = request_comment = request_attach = attachment_download = request_revise = _todo
