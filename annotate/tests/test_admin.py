"""The lead's admin: every collection model lists, and an annotation shows its pairs."""

import uuid

import pytest
from django.urls import reverse

from annotate.services import Submission, annotation_submit, assignment_next

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_with_annotation(client, django_user_model, make_project, annotator):
    project = make_project(k=3, n_prompts=1, members=[annotator])
    assignment = assignment_next(project=project, annotator=annotator)
    order = assignment.display_order
    annotation, _ = annotation_submit(
        assignment_id=assignment.pk,
        annotator=annotator,
        submission=Submission(
            client_id=uuid.uuid4(),
            buckets=[[order[0]], [order[1], order[2]]],
            likert={order[0]: 6, order[1]: 3, order[2]: 3},
        ),
    )
    superuser = django_user_model.objects.create_superuser("root_lead", password="pw")
    client.force_login(superuser)
    return client, annotation


@pytest.mark.parametrize(
    "model", ["project", "prompt", "candidate", "assignment", "annotation"]
)
def test_changelists_render(admin_client_with_annotation, model):
    client, _ = admin_client_with_annotation
    assert client.get(reverse(f"admin:annotate_{model}_changelist")).status_code == 200


def test_annotation_page_shows_judgements_and_comparisons(admin_client_with_annotation):
    client, annotation = admin_client_with_annotation
    page = client.get(reverse("admin:annotate_annotation_change", args=[annotation.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Comparisons" in html and "Judgements" in html
    assert html.count("0.5") >= 2  # two pairs, each weighted 1/2 (the tie gives none)


def test_re_expand_action_rebuilds_pairs(admin_client_with_annotation):
    client, annotation = admin_client_with_annotation
    annotation.comparisons.all().delete()
    client.post(
        reverse("admin:annotate_annotation_changelist"),
        {"action": "expand_again", "_selected_action": [annotation.pk]},
    )
    assert annotation.comparisons.count() == 2


def test_project_admin_links_the_export_download(admin_client_with_annotation):
    client, annotation = admin_client_with_annotation
    project = annotation.assignment.prompt.project
    change = client.get(reverse("admin:annotate_project_change", args=[project.pk]))
    export_url = reverse("annotate:project_export", args=[project.slug])
    assert export_url in change.content.decode()
    form = {"format": "pairs", "style": "standard", "source": "all", "ties": "drop"}
    download = client.post(
        export_url, {**form, "min_agreement": "0", "file_type": "jsonl"}
    )
    assert download.status_code == 200, download.content[:500]
    assert download["Content-Disposition"].startswith("attachment")
    lines = b"".join(download.streaming_content).decode().splitlines()
    assert len(lines) == 2  # best over each of the two tied outputs
