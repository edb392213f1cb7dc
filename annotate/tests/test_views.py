"""HTTP behaviour of the labeling pages and their JSON endpoints."""

import json
import uuid

import pytest
from django.urls import reverse

from annotate.models import Annotation, Assignment
from annotate.services import assignment_next, prompt_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(make_project, annotator):
    return make_project(k=3, n_prompts=2, members=[annotator])


@pytest.fixture
def annotator_client(client, annotator):
    client.force_login(annotator)
    return client


def post_json(client, url, body):
    return client.post(url, data=json.dumps(body), content_type="application/json")


def submit_url(project, assignment):
    return reverse("annotate:submit", args=[project.slug, assignment.pk])


def body_for(assignment, **overrides):
    order = assignment.display_order
    body = {
        "client_id": str(uuid.uuid4()),
        "ranking": [[cid] for cid in order],
        "likert": {str(cid): 7 - i for i, cid in enumerate(order)},
        "flags": {},
        "notes": "",
    }
    body.update(overrides)
    return body


def test_pages_need_a_login(client, project):
    response = client.get(reverse("annotate:label", args=[project.slug]))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_a_json_submit_without_a_session_gets_401_json_and_stores_nothing(
    client, project, annotator
):
    assignment = assignment_next(project=project, annotator=annotator)
    response = post_json(client, submit_url(project, assignment), body_for(assignment))
    assert response.status_code == 401
    assert response.json() == {
        "errors": {"session": "Your session has ended; log in again."}
    }
    assert not Annotation.objects.exists()
    # A plain form post still goes to the login page.
    plain = client.post(submit_url(project, assignment))
    assert plain.status_code == 302
    assert plain.url.startswith(reverse("login"))


def test_non_members_cannot_reach_a_project(client, project, other_annotator):
    client.force_login(other_annotator)
    assert client.get(reverse("annotate:label", args=[project.slug])).status_code == 403


def test_queue_redirects_to_a_task_that_shows_every_output(annotator_client, project):
    response = annotator_client.get(reverse("annotate:label", args=[project.slug]))
    assert response.status_code == 302
    page = annotator_client.get(response.url)
    assert page.status_code == 200
    html = page.content.decode()
    for letter in "ABC":
        assert f'id="output-{letter}"' in html
    assert "Rank 1 (best)" in html and "Rank 3 (worst)" in html
    assert "Gives harmful advice" in html


def test_chat_prompts_show_as_turns(annotator_client, make_project, annotator):
    project = make_project(k=2, n_prompts=0, slug="chat", members=[annotator])
    prompt, _ = prompt_create(
        project=project,
        messages=[
            {"role": "user", "content": "Hi there"},
            {"role": "assistant", "content": "Hello! How can I help?"},
            {"role": "user", "content": "Name a prime."},
        ],
    )
    for text in ("Seven.", "Nine."):
        prompt.candidates.create(text=text, source="m")
    assignment = assignment_next(project=project, annotator=annotator)
    html = annotator_client.get(
        reverse("annotate:task", args=[project.slug, assignment.pk])
    ).content.decode()
    assert html.count('class="turn turn-user"') == 2
    assert 'class="turn turn-assistant"' in html


def test_submit_then_resubmit_returns_the_same_annotation(
    annotator_client, project, annotator
):
    assignment = assignment_next(project=project, annotator=annotator)
    body = body_for(assignment)
    first = post_json(annotator_client, submit_url(project, assignment), body)
    again = post_json(annotator_client, submit_url(project, assignment), body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["annotation"] == again.json()["annotation"]
    assert first.json()["comparisons"] == 3
    assert Annotation.objects.count() == 1


@pytest.mark.parametrize(
    ("raw_body", "field", "message"),
    [
        ("not json", "body", "Invalid JSON"),
        ("[1, 2]", "body", "Expected a JSON object"),
        (json.dumps({"ranking": [], "likert": {}}), "client_id", "required"),
        (
            json.dumps(
                {"client_id": str(uuid.uuid4()), "ranking": [], "likert": {"x": 3}}
            ),
            "likert",
            "candidate ids",
        ),
    ],
)
def test_malformed_bodies_name_the_field(
    annotator_client, project, annotator, raw_body, field, message
):
    assignment = assignment_next(project=project, annotator=annotator)
    response = annotator_client.post(
        submit_url(project, assignment), data=raw_body, content_type="application/json"
    )
    assert response.status_code == 400
    assert message in response.json()["errors"][field]
    assert not Annotation.objects.exists()


def test_incomplete_submission_is_refused_with_what_is_missing(
    annotator_client, project, annotator
):
    assignment = assignment_next(project=project, annotator=annotator)
    body = body_for(assignment, ranking=[[assignment.display_order[0]]])
    response = post_json(annotator_client, submit_url(project, assignment), body)
    assert response.status_code == 400
    assert (
        response.json()["errors"]["ranking"]
        == "Rank every output: B, C not ranked yet."
    )


def test_conflict_answers_409_until_confirmed(annotator_client, project, annotator):
    assignment = assignment_next(project=project, annotator=annotator)
    order = assignment.display_order
    likert = {str(order[0]): 1, str(order[1]): 4, str(order[2]): 2}
    response = post_json(
        annotator_client,
        submit_url(project, assignment),
        body_for(assignment, likert=likert),
    )
    assert response.status_code == 409
    assert "A is ranked above B but rated lower (1 < 4)." in response.json()["warnings"]
    confirmed = post_json(
        annotator_client,
        submit_url(project, assignment),
        body_for(assignment, likert=likert, confirm_conflicts=True),
    )
    assert confirmed.status_code == 201


def test_skip_endpoint_records_the_reason(annotator_client, project, annotator):
    assignment = assignment_next(project=project, annotator=annotator)
    url = reverse("annotate:skip", args=[project.slug, assignment.pk])
    refused = post_json(annotator_client, url, {"client_id": str(uuid.uuid4())})
    assert "required" in refused.json()["errors"]["reason"]
    response = post_json(
        annotator_client, url, {"client_id": str(uuid.uuid4()), "reason": "Off-topic"}
    )
    assert response.status_code == 201
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.SKIPPED


def test_someone_elses_task_is_not_found(client, project, annotator, other_annotator):
    project.members.add(other_annotator)
    assignment = assignment_next(project=project, annotator=annotator)
    client.force_login(other_annotator)
    page = client.get(reverse("annotate:task", args=[project.slug, assignment.pk]))
    assert page.status_code == 404
    response = post_json(client, submit_url(project, assignment), body_for(assignment))
    assert response.status_code == 400
    assert "of yours" in response.json()["errors"]["assignment"]


def test_project_page_counts_for_leads_in_constant_queries(
    client, project, annotator, lead, django_assert_max_num_queries
):
    assignment = assignment_next(project=project, annotator=annotator)
    client.force_login(annotator)
    post_json(client, submit_url(project, assignment), body_for(assignment))
    assert (
        client.get(reverse("annotate:project", args=[project.slug])).status_code == 403
    )
    client.force_login(lead)
    with django_assert_max_num_queries(14):
        page = client.get(reverse("annotate:project", args=[project.slug]))
    html = page.content.decode()
    assert 'id="count-prompts">2<' in html
    assert 'id="count-annotations">1<' in html
    assert 'id="count-comparisons">3<' in html
    assert "ada_annotator" in html


def test_home_and_the_empty_queue_count_submitted_and_skipped_apart(
    annotator_client, make_project, annotator
):
    project = make_project(k=3, n_prompts=3, members=[annotator], slug="counts")
    first = assignment_next(project=project, annotator=annotator)
    assert post_json(annotator_client, submit_url(project, first), body_for(first))
    second = assignment_next(project=project, annotator=annotator)
    skip = reverse("annotate:skip", args=[project.slug, second.pk])
    body = {"client_id": str(uuid.uuid4()), "reason": "Off-topic"}
    assert post_json(annotator_client, skip, body).status_code == 201
    home = annotator_client.get(reverse("annotate:home")).content.decode()
    assert "1 submitted · 1 skipped · 1 waiting for you" in home
    third = assignment_next(project=project, annotator=annotator)
    assert post_json(annotator_client, submit_url(project, third), body_for(third))
    empty = annotator_client.get(
        reverse("annotate:label", args=[project.slug])
    ).content.decode()
    assert "You have submitted 2 tasks and skipped 1 in" in empty
