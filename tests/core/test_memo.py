"""Answers remembered for one page's reads (apps/core/memo.py): only inside reading(), one per argument."""

import pytest

from apps.core import memo


def test_outside_a_reading_block_every_call_reads_afresh():
    calls = []

    @memo.per_page
    def answer(x):
        calls.append(x)
        return [x]

    assert answer(1) == answer(1) == [1]
    assert calls == [1, 1]


def test_inside_a_reading_block_each_question_is_answered_once_and_each_caller_gets_its_own_copy():
    calls = []

    @memo.per_page
    def answer(x, y=None):
        calls.append(x)
        return [x]

    with memo.reading():
        first = answer(1)
        first.append("changed by the first caller")
        assert answer(1) == [1] and answer(2) == [2]
        with memo.reading():  # a nested block shares the outer answers
            assert answer(1) == [1]
    assert calls == [1, 2]
    answer(1)
    assert calls == [1, 2, 1]  # the block ended: read afresh


@pytest.mark.django_db
def test_model_instances_are_told_apart_by_class_and_pk(upgrade, requester):
    from apps.accounts.duties import duties_of

    with memo.reading():
        mine = duties_of(requester, upgrade)
        assert duties_of(requester, upgrade) == mine == {"requester"}
        assert memo._answers.get()  # remembered under the request's and the person's keys


@pytest.mark.django_db
def test_an_argument_without_identity_is_read_afresh_not_refused(upgrade):
    """An unsaved model instance cannot be hashed: such a call is answered, just not remembered."""
    from apps.upgrades.models import UpgradeRequest

    calls = []

    @memo.per_page
    def answer(obj):
        calls.append(obj)
        return obj.title

    unsaved = UpgradeRequest(title="Not saved yet")
    with memo.reading():
        assert answer(unsaved) == answer(unsaved) == "Not saved yet"
        assert answer(upgrade) == answer(upgrade)
    assert len(calls) == 3
