"""The Python-drawn widgets write exactly what Django's templates write."""

import pytest
from django import forms

from apps.accounts.models import Team
from apps.core.widgets import FastDateInput, FastSelect, FastTextInput

pytestmark = pytest.mark.django_db


class Plain(forms.Form):
    team = forms.ModelChoiceField(queryset=Team.objects.order_by("name"), required=False)
    kind = forms.ChoiceField(choices=[("", "Any"), ("a", 'A & "b"'), ("c", "<c>")], required=False)
    text = forms.CharField(required=False, max_length=20)
    day = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))


class Fast(Plain):
    team = forms.ModelChoiceField(queryset=Team.objects.order_by("name"), required=False, widget=FastSelect)
    kind = forms.ChoiceField(choices=Plain.base_fields["kind"].choices, required=False, widget=FastSelect)
    text = forms.CharField(required=False, max_length=20, widget=FastTextInput)
    day = forms.DateField(required=False, widget=FastDateInput(attrs={"type": "date"}))


@pytest.mark.parametrize("data", [None, {"kind": "a", "text": 'x"<y>', "day": "2026-11-28"}, {"kind": "zz"}, "team"])
def test_fast_widgets_write_djangos_html(data):
    Team.objects.create(name='R&D <"labs">', slug="rnd")
    other = Team.objects.create(name="Ops", slug="ops")
    if data == "team":
        data = {"team": str(other.pk)}
    plain, fast = Plain(data), Fast(data)
    if data:
        plain.is_valid(), fast.is_valid()
    for name in ("team", "kind", "text", "day"):
        assert str(fast[name]) == str(plain[name]), name
    assert "R&amp;D &lt;&quot;labs&quot;&gt;" in str(fast["team"])


def test_a_model_select_reads_its_options_in_one_plain_query(django_assert_num_queries):
    Team.objects.create(name="Ops", slug="ops")
    with django_assert_num_queries(1) as captured:
        str(Fast()["team"])
    assert "CURSOR" not in captured.captured_queries[0]["sql"].upper()
