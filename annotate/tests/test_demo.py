"""The demo seed: complete, idempotent, and ready for a first training round."""

from __future__ import annotations

import pytest

from annotate.demo import DEMO_LOGINS, demo_seed
from annotate.demo_content import DEMO_PROMPTS, NEXT_ROUND_PROMPTS
from annotate.models import Candidate
from annotate.selectors import prompts_open_to
from training.services import fresh_prompts

pytestmark = pytest.mark.django_db


def test_demo_seed_is_complete_and_a_second_run_adds_nothing(django_user_model):
    project, prompts, outputs = demo_seed()
    assert prompts == len(DEMO_PROMPTS) + len(NEXT_ROUND_PROMPTS)
    assert outputs == sum(len(p.candidates) for p in DEMO_PROMPTS)
    assert Candidate.objects.filter(prompt__project=project).count() == outputs
    assert demo_seed()[1:] == (0, 0)
    for login in DEMO_LOGINS:
        user = django_user_model.objects.get(username=login.username)
        assert user.check_password(login.password)


def test_prompts_awaiting_a_round_are_not_handed_to_annotators(django_user_model):
    project, _, _ = demo_seed()
    waiting = set(fresh_prompts(project).values_list("text", flat=True))
    assert waiting == set(NEXT_ROUND_PROMPTS)
    annotator = django_user_model.objects.get(username="annotator1")
    open_to_them = prompts_open_to(project=project, annotator=annotator)
    assert open_to_them.count() == len(DEMO_PROMPTS)
    assert not open_to_them.filter(text__in=waiting).exists()
