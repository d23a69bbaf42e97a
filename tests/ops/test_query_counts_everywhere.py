"""Every list page and API list costs the same number of queries with few rows as with many.

The table of list routes and how their rows grow lives in `benchmarks/_rows.py` (the benchmark
`querycounts` measures the same at 10 and 1,000 rows). A route that is neither in that table nor
excluded there by reason fails here, so a new list cannot be forgotten.
"""

import pytest

from benchmarks import _rows

SMALL, LARGE = 3, 30


def test_every_route_is_a_measured_list_or_excluded_by_reason():
    routes = set(_rows.all_routes())
    listed = {r.name for r in _rows.ROUTES}
    excluded = {name for names in _rows.EXCLUDED.values() for name in names}
    assert set(_rows.EXCLUDED) == set(_rows.REASONS)
    assert not routes - listed - excluded, "list routes with no row grower (add them to ROUTES)"
    assert not (listed | excluded) - routes, "names in the table that are no route any more"
    assert not listed & excluded, "routes both measured and excluded"
    assert len({r.key for r in _rows.ROUTES}) == len(_rows.ROUTES), "two measured routes share a key"


@pytest.mark.parametrize("route", _rows.ROUTES, ids=[r.key for r in _rows.ROUTES])
def test_list_costs_the_same_queries_at_two_sizes(db, route):
    (small, small_bytes), (large, large_bytes) = _rows.measure(route, (SMALL, LARGE))
    assert small == large, f"{route.key}: {small} queries with {SMALL} rows, {large} with {LARGE}"
    if route.shows_rows:  # the rows really are on the page: otherwise equal counts prove nothing
        assert large_bytes > small_bytes, f"{route.key}: the {LARGE} rows do not show"
