"""Counts are printed as people read them: "4,423 requests", not "4423 requests"."""

from types import SimpleNamespace

from django.template.loader import render_to_string

from apps.core.templatetags.tollgate import thousands


def test_thousands_groups_digits_and_leaves_anything_else():
    assert thousands(4423) == "4,423"
    assert thousands("100000") == "100,000"
    assert thousands(7) == "7"
    assert thousands(None) is None and thousands("n/a") == "n/a"


def test_the_request_list_prints_its_exact_count_with_separators():
    paginator = SimpleNamespace(capped=False, count=4423, num_pages=89)
    page = SimpleNamespace(paginator=paginator, object_list=[], has_other_pages=lambda: False, number=1)
    html = render_to_string("upgrades/partials/list_table.html", {"page": page, "rows": [], "query": ""})
    assert "4,423 requests" in html
