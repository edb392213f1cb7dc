"""REST API over the other services: exports, imports, rounds and model versions."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from annotate.models import Annotation, Project
from annotate.services import assignment_next, membership_set
from api.tests.test_api_permissions import submit_ranked
from training import services
from training.models import ModelVersion, Round
from training.tests.fixtures_rounds import QUICK, drain

pytestmark = pytest.mark.django_db


def api_as(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def judged_project(make_project, annotator) -> Project:
    """Four prompts ranked by the annotator (K=4: 6 comparisons each), one fresh."""
    project = make_project(k=4, n_prompts=4, members=[annotator])
    for _ in range(4):
        submit_ranked(assignment_next(project=project, annotator=annotator), annotator)
    project.prompts.create(text="A fresh prompt with no outputs yet.")
    return project


def test_lead_exports_pairs_as_jsonl(judged_project, lead):
    response = api_as(lead).post(
        "/api/v1/exports/",
        {"project": judged_project.pk, "format": "pairs"},
        format="json",
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-ndjson"
    assert response["Content-Disposition"].startswith('attachment; filename="tests-')
    rows = [
        json.loads(line)
        for line in b"".join(response.streaming_content).split(b"\n")
        if line
    ]
    assert len(rows) == 4 * 6
    assert {"prompt", "chosen", "rejected"} <= set(rows[0])


def test_export_refusals_name_the_option(judged_project, lead, annotator):
    refused = api_as(lead).post(
        "/api/v1/exports/",
        {"project": judged_project.pk, "format": "pairs", "rounds": [7]},
        format="json",
    )
    assert refused.status_code == 400
    assert refused.json()["errors"] == {
        "rounds": "project 'tests' has no round 7; its rounds: none yet"
    }
    forbidden = api_as(annotator).post(
        "/api/v1/exports/",
        {"project": judged_project.pk, "format": "pairs"},
        format="json",
    )
    assert forbidden.status_code == 403


def test_lead_imports_preference_pairs_once(make_project, lead):
    project = make_project(k=2, n_prompts=0)
    records = [
        {"prompt": "What is 2+2?", "chosen": "4", "rejected": "5"},
        {"prompt": "Capital of France?", "chosen": "Paris", "rejected": "Lyon"},
    ]
    body = {"project": project.pk, "format": "trl", "records": records}
    first = api_as(lead).post("/api/v1/imports/", body, format="json")
    assert first.status_code == 201, first.json()
    assert first.json()["added"]["annotations"] == 2
    again = api_as(lead).post("/api/v1/imports/", body, format="json")
    assert again.json()["added"].get("annotations", 0) == 0
    assert Annotation.objects.filter(source="imported").count() == 2


def test_a_bad_import_record_refuses_all_and_names_its_index(make_project, lead):
    project = make_project(k=2, n_prompts=0)
    records = [
        {"prompt": "What is 2+2?", "chosen": "4", "rejected": "5"},
        {"prompt": "Capital of France?", "chosen": "Paris"},
    ]
    response = api_as(lead).post(
        "/api/v1/imports/",
        {"project": project.pk, "format": "trl", "records": records},
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["records.1"]
    assert "rejected" in response.json()["errors"]["records.1"]
    assert not project.prompts.exists()


@pytest.mark.postgres
def test_imported_records_are_cleaned_as_a_file_import_cleans_them(make_project, lead):
    project = make_project(k=2, n_prompts=0)
    hostile = {
        "prompt": "Greet\x00 me",
        "chosen": "Hi\x00 there\ufffd,\x07 friend\ud800\r\n",
        "rejected": "Go\x1b away\ufffd",
    }
    blank = {"prompt": "Q", "chosen": "fine", "rejected": "\x00\ufffd \u200b"}

    def post(records):  # JSON text with \u escapes, as a client sends it
        body = {"project": project.pk, "format": "trl", "records": records}
        return api_as(lead).post(
            "/api/v1/imports/", json.dumps(body), content_type="application/json"
        )

    refused = post([hostile, blank])
    assert refused.status_code == 400
    assert refused.json()["errors"] == {
        "records.1": "field 'rejected' has nothing readable: it is empty, or only "
        "whitespace, control or invisible characters; expected the output"
    }
    assert not project.prompts.exists()
    first = post([hostile])
    assert first.status_code == 201, first.json()
    assert first.json()["added"] == {
        "prompts": 1,
        "candidates": 2,
        "annotations": 1,
        "comparisons": 1,
    }
    prompt = project.prompts.get()
    assert prompt.text == "Greet me"
    texts = set(prompt.candidates.values_list("text", flat=True))
    assert texts == {"Hi there, friend\n", "Go away"}
    assert sum(post([hostile]).json()["added"].values()) == 0


def test_a_round_launch_without_enough_data_says_why(make_project, lead):
    project = make_project(k=3, n_prompts=1)
    response = api_as(lead).post(
        "/api/v1/rounds/", {"project": project.pk}, format="json"
    )
    assert response.status_code == 400
    assert "Not enough data" in response.json()["errors"]["data"]
    assert not Round.objects.exists()


def test_lead_launches_lists_and_cancels_a_round(judged_project, lead, annotator):
    client = api_as(lead)
    launched = client.post(
        "/api/v1/rounds/",
        {"project": judged_project.pk, "algorithm": "dpo"},
        format="json",
    )
    assert launched.status_code == 201, launched.json()
    assert launched.json()["state"] == "training_reward"
    assert launched.json()["launched_by"] == "lena_lead"
    round_id = launched.json()["id"]
    listed = client.get(
        f"/api/v1/rounds/?project={judged_project.pk}&state=training_reward"
    )
    assert [row["id"] for row in listed.json()["results"]] == [round_id]
    cancelled = client.post(f"/api/v1/rounds/{round_id}/cancel/")
    assert cancelled.json()["state"] == "cancelled"
    again = client.post(f"/api/v1/rounds/{round_id}/cancel/")
    assert again.status_code == 400
    assert "nothing to cancel" in again.json()["errors"]["state"]
    versions = client.get(f"/api/v1/model-versions/?project={judged_project.pk}")
    assert [row["kind"] for row in versions.json()["results"]] == ["policy"]
    assert ModelVersion.objects.count() == 1


def test_a_launch_asking_more_processes_than_gpus_is_refused_by_field(
    judged_project, lead, settings
):
    settings.RANKWISE_WORKER_GPUS = 1
    client = api_as(lead)
    body = {"project": judged_project.pk, "launch_settings": {"processes": 2}}
    refused = client.post("/api/v1/rounds/", body, format="json")
    assert refused.status_code == 400
    assert refused.json()["errors"] == {
        "launch_settings.processes": "2 processes need 2 GPUs; the workers have 1 "
        "(RANKWISE_WORKER_GPUS)."
    }
    assert not Round.objects.exists()
    settings.RANKWISE_WORKER_GPUS = 2
    launched = client.post("/api/v1/rounds/", body, format="json")
    assert launched.status_code == 201, launched.json()
    assert launched.json()["launch_settings"] == {"processes": 2}


def test_annotators_see_no_rounds_or_models(judged_project, lead, annotator):
    launched = api_as(lead).post(
        "/api/v1/rounds/", {"project": judged_project.pk}, format="json"
    )
    client = api_as(annotator)
    assert client.get("/api/v1/rounds/").json()["count"] == 0
    assert client.get("/api/v1/model-versions/").json()["count"] == 0
    detail = client.get(f"/api/v1/rounds/{launched.json()['id']}/")
    assert detail.status_code == 404
    refused = client.post(
        "/api/v1/rounds/", {"project": judged_project.pk}, format="json"
    )
    assert refused.status_code == 403


@pytest.mark.django_db(transaction=True)
def test_round_filter_finds_the_judgements_of_a_rounds_outputs(
    ranked_project, queued, lead, other_annotator
):
    project = ranked_project(n_ranked=6, n_fresh=1)
    services.round_launch(project=project, request=services.LaunchRequest(**QUICK))
    assert drain(queued) == ["succeeded"] * 4
    membership_set(project=project, user=other_annotator, role="annotator")
    assignment = assignment_next(project=project, annotator=other_annotator)
    annotation_id = submit_ranked(assignment, other_annotator)
    client = api_as(lead)

    def ids(path: str) -> list[int]:
        response = client.get(path)
        assert response.status_code == 200, response.json()
        return [row["id"] for row in response.json()["results"]]

    assert ids(f"/api/v1/annotations/?project={project.pk}&round=1") == [annotation_id]
    assert ids(f"/api/v1/assignments/?project={project.pk}&round=1") == [assignment.pk]
    pairs = ids(f"/api/v1/comparisons/?project={project.pk}&round=1")
    assert len(pairs) == 3  # K=3 generated outputs ranked without ties
    assert ids(f"/api/v1/annotations/?project={project.pk}&round=2") == []


@pytest.mark.django_db(transaction=True)
def test_lead_promotes_a_policy_and_rolls_back(ranked_project, queued, lead, annotator):
    project = ranked_project()
    round_ = services.round_launch(
        project=project, request=services.LaunchRequest(**QUICK)
    )
    drain(queued)
    round_.refresh_from_db()
    client = api_as(lead)
    assert services.current_policy(project) == round_.policy

    rolled = client.post(
        "/api/v1/model-versions/rollback/", {"project": project.pk}, format="json"
    )
    assert rolled.status_code == 200, rolled.json()
    assert rolled.json()["id"] == round_.base_policy.pk
    assert services.current_policy(project) == round_.base_policy
    again = client.post(
        "/api/v1/model-versions/rollback/", {"project": project.pk}, format="json"
    )
    assert again.status_code == 400
    assert "no earlier policy" in again.json()["errors"]["project"]

    promoted = client.post(f"/api/v1/model-versions/{round_.policy.pk}/promote/")
    assert promoted.status_code == 200
    assert services.current_policy(project) == round_.policy
    reward = client.post(f"/api/v1/model-versions/{round_.reward_model.pk}/promote/")
    assert reward.status_code == 400 and "model_version" in reward.json()["errors"]
    outsider = api_as(annotator).post(
        f"/api/v1/model-versions/{round_.policy.pk}/promote/"
    )
    assert outsider.status_code == 404
