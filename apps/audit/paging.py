"""Page numbers over the audit trail without counting every event of it.

An exact COUNT(*) over a million events costs several times the rest of the page (it reads the whole
index), so the trail's pages and API count at most COUNT_CAP events past the start of the page asked for:
below that the count is exact, above it the page says "more than 1000" (and the API gives a null count).
Any page number still works: the count reaches one row past the page asked for, so "Older" stays offered
while older events exist.
"""

from django.core.paginator import Paginator
from django.utils.functional import cached_property

COUNT_CAP = 1_000


class CappedPaginator(Paginator):
    cap = COUNT_CAP

    def __init__(self, object_list, per_page, *args, **kwargs):
        super().__init__(object_list, per_page, *args, **kwargs)
        self.limit = max(self.cap, self.per_page) + 1

    def validate_number(self, number):
        # the first page number asked for sets how far counting goes
        if "count" not in self.__dict__ and self.limit is not None:
            try:
                wanted = int(number)
            except (TypeError, ValueError):
                wanted = 1
            if 1 <= wanted < 2**40:
                self.limit = max(self.cap, wanted * self.per_page) + 1
        return super().validate_number(number)

    def get_page(self, number):
        """As Paginator's, except that a number below 1 shows the first page: "the last page" (Paginator's
        answer to any number out of range) is not known without counting everything."""
        try:
            if int(number) < 1:
                number = 1
        except (TypeError, ValueError):
            pass
        return super().get_page(number)

    def count_all(self) -> None:
        """Count exactly (the API's ?page=last needs the real last page)."""
        self.__dict__.pop("count", None)
        self.limit = None

    @cached_property
    def count(self) -> int:
        """Rows counted: exact when below `limit`; `limit` itself means "more than limit - 1"."""
        # no ORDER BY: the planner may count through the filter's own index instead of the seq order
        if self.limit is None:
            return self.object_list.order_by().count()
        return self.object_list.order_by()[: self.limit].count()

    @property
    def capped(self) -> bool:
        return self.limit is not None and self.count >= self.limit

    @property
    def more_than(self) -> int:
        """With `capped`: there are more events than this."""
        return self.limit - 1

    @property
    def more_than_pages(self) -> int:
        """With `capped`: there are more pages than this."""
        return self.more_than // self.per_page
