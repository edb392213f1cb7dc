"""A task can always be skipped, from a page that shows nothing of the task."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from annotate.models import Annotation, Assignment, Candidate
from annotate.services import assignment_next

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(make_project, annotator):
    return make_project(k=2, n_prompts=2, members=[annotator])


@pytest.fixture
def open_task(project, annotator) -> Assignment:
    assignment = assignment_next(project=project, annotator=annotator)
    assert assignment is not None
    return assignment


@pytest.fixture
def annotator_client(client, annotator):
    client.force_login(annotator)
    return client


def skip_url(project, assignment) -> str:
    return reverse("annotate:skip_page", args=[project.slug, assignment.pk])


def test_home_offers_to_skip_the_open_task(annotator_client, project, open_task):
    page = annotator_client.get(reverse("annotate:home")).content.decode()
    assert f"Continue task {open_task.pk}" in page
    assert f'href="{skip_url(project, open_task)}">Skip task {open_task.pk}</a>' in page


def test_home_offers_no_skip_without_an_open_task(annotator_client, project):
    page = annotator_client.get(reverse("annotate:home")).content.decode()
    assert "Start labeling" in page and "Skip task" not in page


def test_the_skip_page_shows_none_of_the_task(annotator_client, project, open_task):
    page = annotator_client.get(skip_url(project, open_task))
    shown = page.content.decode()
    assert page.status_code == 200
    assert f"Skip task {open_task.pk}" in shown
    assert "The task page does not load" in shown  # a reason on offer
    assert open_task.prompt.text not in shown
    assert not any(c.text in shown for c in open_task.prompt.candidates.all())


def test_skipping_moves_on_to_the_next_task(annotator_client, project, open_task):
    client_id = str(uuid.uuid4())
    form = {"client_id": client_id, "reason": "The task page does not load"}
    response = annotator_client.post(skip_url(project, open_task), form)
    assert response.status_code == 302
    assert response.url == reverse("annotate:label", args=[project.slug])
    open_task.refresh_from_db()
    assert open_task.status == Assignment.Status.SKIPPED
    assert open_task.annotation.skip_reason == "The task page does not load"
    following = annotator_client.get(response.url)
    next_task = Assignment.objects.get(status=Assignment.Status.OPEN)
    assert next_task.prompt_id != open_task.prompt_id
    assert following.url == reverse("annotate:task", args=[project.slug, next_task.pk])
    # Sent again (a double click, Back then resend): one skip, and it says so.
    again = annotator_client.post(skip_url(project, open_task), form)
    assert "Already skipped" in again.content.decode()
    assert Annotation.objects.filter(skipped=True).count() == 1


def test_a_skip_needs_a_reason(annotator_client, project, open_task):
    form = {"client_id": str(uuid.uuid4()), "reason": " \u200b "}
    page = annotator_client.post(skip_url(project, open_task), form)
    assert page.status_code == 400
    assert "<li>reason: This field has nothing readable" in page.content.decode()
    assert not Annotation.objects.exists()


def test_a_task_whose_output_was_deleted_offers_the_skip(
    annotator_client, project, open_task
):
    Candidate.objects.filter(pk=open_task.display_order[0]).delete()
    task_url = reverse("annotate:task", args=[project.slug, open_task.pk])
    page = annotator_client.get(task_url)
    shown = page.content.decode()
    assert page.status_code == 200
    assert "An output of this task was removed" in shown
    assert f'action="{skip_url(project, open_task)}"' in shown
    form = {"client_id": str(uuid.uuid4()), "reason": "The outputs are unreadable"}
    assert annotator_client.post(skip_url(project, open_task), form).status_code == 302


def test_no_one_skips_someone_elses_task(client, other_annotator, project, open_task):
    project.membership_set.create(user=other_annotator)
    client.force_login(other_annotator)
    form = {"client_id": str(uuid.uuid4()), "reason": "Not mine"}
    assert client.get(skip_url(project, open_task)).status_code == 404
    assert client.post(skip_url(project, open_task), form).status_code == 404
    assert not Annotation.objects.exists()


def test_the_task_page_links_the_skip_page_for_browsers_without_scripts(
    annotator_client, project, open_task
):
    task_url = reverse("annotate:task", args=[project.slug, open_task.pk])
    shown = annotator_client.get(task_url).content.decode()
    assert '<noscript><p class="feedback error">' in shown
    assert f'<a href="{skip_url(project, open_task)}">Skip this task</a>' in shown
