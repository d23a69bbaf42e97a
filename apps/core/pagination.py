"""The API's page numbers (a module of its own: REST framework imports it while apps.core.api's imports load)."""

from rest_framework import pagination
from rest_framework.exceptions import NotFound


class PageNumberPagination(pagination.PageNumberPagination):
    """DRF's, except that a blank `page` is refused like any other page that is no number (DRF reads it as 1)."""

    def get_page_number(self, request, paginator):
        if request.query_params.get(self.page_query_param) == "":
            raise NotFound("Invalid page.")
        return super().get_page_number(request, paginator)
