"""The export page: checkbox filters with counts, and the card in the download."""

import io
import json
import re
import uuid
import zipfile

import pytest
from django.urls import reverse

from annotate.models import Project
from annotate.services import (
    Submission,
    annotation_submit,
    assignment_next,
    candidate_create,
    prompt_create,
)

pytestmark = pytest.mark.django_db

FORM = {
    "format": "pairs",
    "style": "standard",
    "file_type": "jsonl",
    "source": "all",
    "min_agreement": "0",
    "ties": "drop",
}


def judge(project: Project, user, ranking: list[str]) -> None:
    """Submit the user's next task, best first; outputs named by their first word."""
    assignment = assignment_next(project=project, annotator=user)
    assert assignment is not None
    by_name = {c.text.split()[0]: c.pk for c in assignment.prompt.candidates.all()}
    annotation_submit(
        assignment_id=assignment.pk,
        annotator=user,
        submission=Submission(
            client_id=uuid.uuid4(),
            buckets=[[by_name[name]] for name in ranking],
            likert={by_name[name]: 7 - rank for rank, name in enumerate(ranking)},
            flags={},
            notes="",
            time_spent_ms=1000,
            confirm_conflicts=True,
        ),
    )


@pytest.fixture
def project(make_project, annotator, other_annotator):
    """Ada judges the colour prompt and a round-2 prompt; Otto the colour prompt."""
    from training.models import CandidateOrigin, ModelVersion, Round

    project = make_project(
        k=2, n_prompts=0, slug="form", members=[annotator, other_annotator]
    )
    project.annotations_per_prompt = 2
    project.save()
    prompt, _ = prompt_create(project=project, text="Name a colour.")
    for name in ("good", "fine", "bad"):
        candidate_create(prompt=prompt, text=f"{name} answer", source=f"model-{name}")
    judge(project, annotator, ["good", "fine", "bad"])
    judge(project, other_annotator, ["fine", "good", "bad"])
    base = ModelVersion.objects.create(
        project=project, kind="policy", name="base", path="tiny"
    )
    round_two = Round.objects.create(
        project=project, number=2, algorithm="dpo", base_policy=base
    )
    generated, _ = prompt_create(project=project, text="Round two prompt")
    for name in ("gen-a", "gen-b"):
        candidate, _ = candidate_create(
            prompt=generated, text=f"{name} text", source="policy-r2"
        )
        CandidateOrigin.objects.create(
            candidate=candidate, round=round_two, model_version=base
        )
    judge(project, annotator, ["gen-b", "gen-a"])
    return project


@pytest.fixture
def lead_client(client, lead):
    client.force_login(lead)
    return client


def export_url(project: Project) -> str:
    return reverse("annotate:project_export", args=[project.slug])


def pairs(response) -> list[tuple[str, str]]:
    lines = b"".join(response.streaming_content).decode().splitlines()
    rows = [json.loads(line) for line in lines]
    return [(row["chosen"].split()[0], row["rejected"].split()[0]) for row in rows]


def test_filters_are_checkboxes_and_radios_with_counts(project, lead_client):
    html = lead_client.get(export_url(project)).content.decode()
    assert "<select multiple" not in html and 'select name="annotators"' not in html
    assert 'type="checkbox" name="annotators" value="ada_annotator"' in html
    assert 'type="checkbox" name="annotators" value="otto_annotator"' in html
    assert "ada_annotator (2 judged tasks)" in html
    assert "otto_annotator (1 judged task)" in html
    assert 'type="checkbox" name="rounds" value="2"' in html
    assert "Round 2 (1 judged task)" in html
    assert 'type="radio" name="source" value="all"' in html
    assert "Human and imported (3 judged tasks)" in html
    assert "Imported only (0 judged tasks)" in html
    assert "<legend>Annotators</legend>" in html
    [card_box] = re.findall(r'<input[^>]*name="include_card"[^>]*>', html)
    assert "checked" in card_box


def test_the_filtered_download_holds_exactly_the_chosen_rows(project, lead_client):
    otto = lead_client.post(
        export_url(project), {**FORM, "annotators": "otto_annotator"}
    )
    assert otto.status_code == 200
    assert otto["Content-Disposition"].endswith('.jsonl"')
    assert pairs(otto) == [("fine", "good"), ("fine", "bad"), ("good", "bad")]
    ada_round_two = lead_client.post(
        export_url(project), {**FORM, "annotators": ["ada_annotator"], "rounds": "2"}
    )
    assert pairs(ada_round_two) == [("gen-b", "gen-a")]
    both = lead_client.post(
        export_url(project),
        {**FORM, "annotators": ["ada_annotator", "otto_annotator"]},
    )
    assert len(pairs(both)) == 7


def test_the_zip_holds_the_file_and_its_card_with_the_counts(project, lead_client):
    response = lead_client.post(
        export_url(project),
        {**FORM, "annotators": "ada_annotator", "include_card": "on"},
    )
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "application/zip"
    disposition = response["Content-Disposition"]
    assert disposition.startswith('attachment; filename="form-pairs-')
    assert disposition.endswith('.zip"')
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    data_name, card_name = archive.namelist()
    assert data_name.startswith("form-pairs-") and data_name.endswith(".jsonl")
    assert card_name == "README.md"
    rows = archive.read(data_name).decode().splitlines()
    assert len(rows) == 4  # good>fine, good>bad, fine>bad and gen-b>gen-a
    card = archive.read(card_name).decode()
    assert "| all | 4 | 2 |" in card
    assert "From 2 annotations by 1 annotators." in card
    assert "| annotators | 1 selected |" in card


def test_a_parquet_zip_and_a_refused_filter(project, lead_client, tmp_path):
    import pyarrow.parquet as pq

    response = lead_client.post(
        export_url(project), {**FORM, "file_type": "parquet", "include_card": "on"}
    )
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    data_name = archive.namelist()[0]
    assert data_name.endswith(".parquet")
    path = tmp_path / "pairs.parquet"
    path.write_bytes(archive.read(data_name))
    assert pq.read_table(path).num_rows == 7
    assert "| all | 7 | 2 |" in archive.read("README.md").decode()
    refused = lead_client.post(export_url(project), {**FORM, "rounds": "9"})
    assert refused.status_code == 400
    assert "rounds" in refused.context["form"].errors
