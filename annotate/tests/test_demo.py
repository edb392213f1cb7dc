"""The demo seed: complete, idempotent, and ready for a first training round."""

from __future__ import annotations

import pytest

from annotate.demo import DEMO_LOGINS, demo_content, demo_seed
from annotate.models import Candidate, Prompt
from annotate.selectors import prompts_open_to
from training.services import fresh_prompts

pytestmark = pytest.mark.django_db


def test_demo_seed_is_complete_and_a_second_run_adds_nothing(django_user_model):
    project, prompts, outputs = demo_seed()
    # What annotate/demo_content.py seeded before the content moved to JSON.
    assert (prompts, outputs) == (34 + 8, 196)
    chats = Prompt.objects.filter(project=project).exclude(messages=[])
    assert chats.count() == 6 and not chats.exclude(text="").exists()
    qualities = Candidate.objects.filter(prompt__project=project).values_list(
        "generation_settings__demo_quality", flat=True
    )
    assert set(qualities) == {
        "helpful",
        "terse",
        "wrong",
        "unsafe",
        "rambling",
        "off-topic",
        "refusal",
    }
    assert Candidate.objects.filter(prompt__project=project).count() == outputs
    assert demo_seed()[1:] == (0, 0)
    for login in DEMO_LOGINS:
        user = django_user_model.objects.get(username=login.username)
        assert user.check_password(login.password)


def test_prompts_awaiting_a_round_are_not_handed_to_annotators(django_user_model):
    project, _, _ = demo_seed()
    waiting = set(fresh_prompts(project).values_list("text", flat=True))
    assert waiting == set(demo_content().next_round_prompts)
    annotator = django_user_model.objects.get(username="annotator1")
    open_to_them = prompts_open_to(project=project, annotator=annotator)
    assert open_to_them.count() == len(demo_content().prompts) == 34
    assert not open_to_them.filter(text__in=waiting).exists()
