"""Fixtures shared by all test folders: offline Hugging Face, named users, projects."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HOME", str(Path(__file__).parent / "var" / "test-hf-home"))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# Round fixtures (a ranked project, in-process job queue) serve tests/ and training/.
pytest_plugins = ["training.tests.fixtures_rounds"]


@pytest.fixture
def lead(django_user_model):
    return django_user_model.objects.create_user("lena_lead", password="pw-lead-123")


@pytest.fixture
def annotator(django_user_model):
    return django_user_model.objects.create_user("ada_annotator", password="pw-ada-123")


@pytest.fixture
def other_annotator(django_user_model):
    return django_user_model.objects.create_user(
        "otto_annotator", password="pw-otto-123"
    )


@pytest.fixture
def make_project(db, lead):
    """A project factory: `make_project(k=4, n_prompts=3, **fields)`, members added."""
    from annotate.models import Membership, Project
    from annotate.services import candidate_create, membership_set, prompt_create

    def make(
        *, k: int = 4, n_prompts: int = 2, slug: str = "tests", members=(), **fields
    ):
        project = Project.objects.create(slug=slug, name=f"Project {slug}", **fields)
        membership_set(project=project, user=lead, role=Membership.Role.LEAD)
        for user in members:
            membership_set(project=project, user=user, role=Membership.Role.ANNOTATOR)
        for p in range(n_prompts):
            prompt, _ = prompt_create(project=project, text=f"Prompt {p} of {slug}")
            for c in range(k):
                candidate_create(
                    prompt=prompt, text=f"Output {c} to {p}", source=f"m{c}"
                )
        return project

    return make


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # PBKDF2's deliberate slowness costs ~0.5 s per user; tests need no such strength.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def pytest_configure(config):
    from django.conf import settings

    # The SQLite test database is a file under the var folder.
    Path(settings.VAR_DIR).mkdir(parents=True, exist_ok=True)
