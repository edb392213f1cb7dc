"""Output, prompt and instructions lengths: refused at every write path, by name."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from annotate import limits
from annotate.importing.service import ImportRejected, import_file, import_records
from annotate.models import Candidate, Prompt
from annotate.services import candidate_create, prompt_create
from training.steps import SampledOutput, usable_outputs

pytestmark = pytest.mark.django_db

OUTPUT_LIMIT = "expected at most 100 (RANKWISE_MAX_OUTPUT_CHARS)"
PROMPT_LIMIT = "expected at most 100 (RANKWISE_MAX_PROMPT_CHARS)"
INSTRUCTIONS_LIMIT = "expected at most 100 (RANKWISE_MAX_INSTRUCTIONS_CHARS)"


@pytest.fixture(autouse=True)
def small_limits(settings):
    settings.RANKWISE_MAX_OUTPUT_CHARS = 100
    settings.RANKWISE_MAX_PROMPT_CHARS = 100
    settings.RANKWISE_MAX_INSTRUCTIONS_CHARS = 100


@pytest.fixture
def project(make_project):
    return make_project(k=2, n_prompts=1)


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_defaults_fit_long_answers_and_documents():
    assert limits.OUTPUT.default == limits.PROMPT.default == 100_000
    assert limits.INSTRUCTIONS.default == 50_000


def test_services_refuse_text_over_the_limit_and_store_nothing(project):
    prompt = project.prompts.get()
    with pytest.raises(limits.TextTooLong) as refused:
        candidate_create(prompt=prompt, text="a" * 101, source="m9")
    assert refused.value.message_dict == {
        "text": [f"The output has 101 characters; {OUTPUT_LIMIT}."]
    }
    with pytest.raises(limits.TextTooLong) as refused:
        prompt_create(
            project=project,
            messages=[
                {"role": "user", "content": "a" * 60},
                {"role": "assistant", "content": "b" * 41},
            ],
        )
    assert refused.value.message_dict == {
        "messages": [f"The prompt has 101 characters; {PROMPT_LIMIT}."]
    }
    assert (Candidate.objects.count(), Prompt.objects.count()) == (2, 1)
    # The limit counts what is stored: controls that cleaning drops do not count.
    candidate, created = candidate_create(
        prompt=prompt, text="a" * 100 + "\x00" * 5, source="m9"
    )
    assert created and len(candidate.text) == 100


def test_the_api_answers_400_naming_the_row_and_field(project, lead):
    client, prompt = api_as(lead), project.prompts.get()
    rows = [
        {"prompt": prompt.pk, "text": "Fine.", "source": "m9"},
        {"prompt": prompt.pk, "text": "a" * 101, "source": "m9"},
    ]
    response = client.post("/api/v1/candidates/", rows, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "errors": {"1.text": f"This field has 101 characters; {OUTPUT_LIMIT}."}
    }
    chat = [
        {"role": "user", "content": "a" * 60},
        {"role": "user", "content": "b" * 60},
    ]
    prompts = [
        {"project": project.pk, "text": "a" * 101},
        {"project": project.pk, "messages": chat},
    ]
    response = client.post("/api/v1/prompts/", prompts, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "0.text": f"This field has 101 characters; {PROMPT_LIMIT}.",
        "1.messages": f"This prompt has 120 characters; {PROMPT_LIMIT}.",
    }
    assert (Candidate.objects.count(), Prompt.objects.count()) == (2, 1)


def test_the_api_refuses_long_instructions_and_launch_prompts(project, lead):
    client = api_as(lead)
    response = client.patch(
        f"/api/v1/projects/{project.pk}/", {"instructions": "i" * 101}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "instructions": f"This text has 101 characters; {INSTRUCTIONS_LIMIT}."
    }
    launch = {"project": project.pk, "new_prompts": ["Short.", "p" * 101]}
    response = client.post("/api/v1/rounds/", launch, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "new_prompts.1": f"This field has 101 characters; {PROMPT_LIMIT}."
    }
    project.refresh_from_db()
    assert project.instructions == ""


def test_imports_refuse_the_row_and_name_the_field(project, tmp_path):
    path = tmp_path / "outputs.jsonl"
    records = [
        {"prompt": "Fine?", "completions": ["Yes.", "No."]},
        {"prompt": "Long?", "completions": ["Yes.", "a" * 101]},
        {"prompt": "p" * 101, "completions": ["Yes.", "No."]},
    ]
    path.write_text("\n".join(json.dumps(record) for record in records))
    with pytest.raises(ImportRejected) as rejected:
        import_file(path=path, project_slug=project.slug)
    assert [str(error) for error in rejected.value.errors] == [
        f"row 2: field 'completions[1]' has 101 characters; {OUTPUT_LIMIT}",
        f"row 3: field 'prompt' has 101 characters; {PROMPT_LIMIT}",
    ]
    pairs = [{"prompt": "Which?", "chosen": "c" * 101, "rejected": "No."}]
    with pytest.raises(ImportRejected) as rejected:
        import_records(project=project, records=pairs, source_name="api")
    assert [str(error) for error in rejected.value.errors] == [
        f"row 1: field 'chosen' has 101 characters; {OUTPUT_LIMIT}"
    ]
    assert Prompt.objects.count() == 1


def test_the_admin_shows_the_limit_on_the_field(client, django_user_model, project):
    client.force_login(
        django_user_model.objects.create_superuser("root", password="pw")
    )
    candidate = Candidate.objects.first()
    form = {
        "prompt": candidate.prompt_id,
        "text": "a" * 101,
        "source": candidate.source,
        "generation_settings": "{}",
        "token_ids": "null",
        "tokenizer": "",
    }
    url = reverse("admin:annotate_candidate_change", args=[candidate.pk])
    page = client.post(url, form)
    assert page.status_code == 200
    assert f"This text has 101 characters; {OUTPUT_LIMIT}." in page.content.decode()
    candidate.refresh_from_db()
    assert candidate.text != "a" * 101
    new_prompt = {
        "project": project.pk,
        "text": "p" * 101,
        "messages": "[]",
        "metadata": "{}",
        "candidates-TOTAL_FORMS": "0",
        "candidates-INITIAL_FORMS": "0",
    }
    page = client.post(reverse("admin:annotate_prompt_add"), new_prompt)
    assert page.status_code == 200
    assert f"This prompt has 101 characters; {PROMPT_LIMIT}." in page.content.decode()
    assert Prompt.objects.count() == 1


def test_generation_drops_samples_over_the_limit():
    samples = [
        SampledOutput("a" * 101, (1,) * 101, "tok"),
        SampledOutput("A short answer.", (2, 3), "tok"),
        SampledOutput("b" * 100, (4,) * 100, "tok"),
    ]
    assert [s.text for s in usable_outputs(samples)] == ["A short answer.", "b" * 100]


def test_the_limit_is_read_when_checked(settings, project):
    settings.RANKWISE_MAX_OUTPUT_CHARS = 200
    candidate, created = candidate_create(
        prompt=project.prompts.get(), text="a" * 150, source="m9"
    )
    assert created and len(candidate.text) == 150
