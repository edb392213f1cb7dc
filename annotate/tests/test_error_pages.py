"""Error pages a person sees: styled like the site, with a way back; API stays JSON."""

import pytest
from django.urls import reverse

from annotate.models import Assignment
from annotate.services import assignment_next

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(make_project, annotator):
    return make_project(k=3, n_prompts=2, members=[annotator])


def test_a_missing_page_has_the_site_header_and_a_way_home(client, annotator):
    client.force_login(annotator)
    page = client.get("/no/such/page/")
    assert page.status_code == 404
    html = page.content.decode()
    assert '<header class="topbar">' in html
    assert annotator.username in html
    assert f'href="{reverse("annotate:home")}">Back to your projects</a>' in html


def test_a_forbidden_page_says_why_and_links_home(client, project, other_annotator):
    client.force_login(other_annotator)
    page = client.get(reverse("annotate:label", args=[project.slug]))
    assert page.status_code == 403
    html = page.content.decode()
    assert "You are not a member of this project." in html
    assert '<header class="topbar">' in html
    assert "Back to your projects" in html


def test_api_errors_stay_json(client, annotator):
    client.force_login(annotator)
    response = client.get("/api/v1/no-such-endpoint/")
    assert response.status_code == 404
    assert response.json() == {
        "errors": {"detail": "No API endpoint at /api/v1/no-such-endpoint/."}
    }


def test_the_task_page_is_never_cached(client, project, annotator):
    client.force_login(annotator)
    assignment = assignment_next(project=project, annotator=annotator)
    page = client.get(reverse("annotate:task", args=[project.slug, assignment.pk]))
    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"]


def test_a_finished_task_is_not_editable_and_links_to_the_next(
    client, project, annotator
):
    client.force_login(annotator)
    assignment = assignment_next(project=project, annotator=annotator)
    Assignment.objects.filter(pk=assignment.pk).update(
        status=Assignment.Status.SUBMITTED
    )
    page = client.get(reverse("annotate:task", args=[project.slug, assignment.pk]))
    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"]
    html = page.content.decode()
    assert "Already submitted" in html
    assert reverse("annotate:submit", args=[project.slug, assignment.pk]) not in html
    assert (
        f'href="{reverse("annotate:label", args=[project.slug])}">Next task</a>' in html
    )
