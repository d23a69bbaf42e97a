"""The month grid's cells are drawn in Python (apps.rollouts.calendar.views._month_cell): the same HTML the
template engine drew with an include per entry, every value escaped."""

import datetime as dt
import re
from types import SimpleNamespace

import pytest
from django.template import Context, Template

from apps.rollouts.calendar.selectors import Entry
from apps.rollouts.calendar.views import _month_cell

# the cell as month.html drew it before (with partials/entry.html)
TEMPLATE = Template('''{% for day, in_month, is_today, entries, more in week %}
    <td class="{% if not in_month %}other-month{% endif %}{% if is_today %} today{% endif %}">
      <span class="cal-day">{{ day|date:"j" }}{% if is_today %} <span class="visually-hidden">(today)</span>{% endif %}</span>
      {% if entries %}<ul class="cal-entries">{% for entry in entries %}{% include "rollouts/calendar/partials/entry.html" %}{% endfor %}</ul>{% endif %}
      {% if more %}<a class="small cal-more" href="{{ day_url }}?date={{ day|date:'Y-m-d' }}{% if query %}&amp;{{ query }}{% endif %}">+{{ more }} more<span class="visually-hidden"> windows on {{ day|date:"j F" }}</span></a>{% endif %}
    </td>
    {% endfor %}''')


def _squeeze(html: str) -> str:
    return re.sub(r">\s+<", "><", re.sub(r"\s+", " ", html)).strip()


def _entries():
    start = dt.datetime(2026, 12, 3, 22, 0, tzinfo=dt.UTC)
    request = SimpleNamespace(reference="UPG-2026-0042", risk_class="high", title="<b>Ledger</b>")
    window = Entry(kind="window", uid="w", title="t", start=start, end=start + dt.timedelta(hours=2),
                   description="", url="/upgrades/UPG-2026-0042/", request=request,
                   wave=SimpleNamespace(name='Wave "2" & <canary>'), span="22:00–00:00")
    plain = Entry(kind="window", uid="p", title="t", start=start, end=start, description="",
                  url="/upgrades/UPG-2026-0043/", request=SimpleNamespace(reference="UPG-2026-0043",
                                                                          risk_class="low", title="x"),
                  span="01:00–03:00")
    freeze = Entry(kind="freeze", uid="f", title="Year-end <freeze>", start=start, end=start,
                   description='No "changes" & no <excuses>', url="")
    return [freeze, window, plain]


@pytest.mark.parametrize("in_month, is_today, more, query", [
    (True, False, 0, ""), (False, False, 3, ""), (True, True, 12, "system=core-ledger&risk=high"),
])
def test_a_cell_is_the_html_the_template_drew(in_month, is_today, more, query):
    day = dt.date(2026, 12, 3)
    entries = _entries()
    expected = TEMPLATE.render(Context({"week": [(day, in_month, is_today, entries, more)],
                                        "day_url": "/calendar/day/", "query": query}))
    got = _month_cell(day, in_month, is_today, entries, more, "/calendar/day/", query)
    assert _squeeze(got) == _squeeze(expected)
    assert "<canary>" not in got and "<excuses>" not in got and "<freeze>" not in got


def test_an_empty_day_has_no_list():
    got = _month_cell(dt.date(2026, 11, 30), False, False, [], 0, "/calendar/day/", "")
    assert "cal-entries" not in got and "cal-more" not in got and 'class="other-month"' in got
