"""Who reaches what through the REST API: a status for every endpoint and role.

The world: project P led by lena, with annotators ada and otto. Ada has judged prompt
1 and holds an open task on prompt 3; otto has judged prompt 2. Nora leads another
project and belongs to none of P. "own_*" objects are ada's, "others_*" are otto's.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from annotate.models import Assignment, Comparison, Membership
from annotate.services import (
    Submission,
    annotation_submit,
    assignment_next,
    membership_set,
)

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "annotator", "lead", "non_member"]


def submit_ranked(assignment: Assignment | None, annotator: User) -> int:
    """Rank and rate the assignment's outputs in display order; the annotation id."""
    assert assignment is not None
    order = assignment.display_order
    annotation, _ = annotation_submit(
        assignment_id=assignment.pk,
        annotator=annotator,
        submission=Submission(
            client_id=uuid.uuid4(),
            buckets=[[cid] for cid in order],
            likert={cid: 7 - i for i, cid in enumerate(order)},
        ),
    )
    return annotation.pk


@pytest.fixture
def non_member(django_user_model, make_project, lead):
    nora = django_user_model.objects.create_user("nora_elsewhere", password="pw-nora")
    elsewhere = make_project(k=2, n_prompts=1, slug="elsewhere")
    membership_set(project=elsewhere, user=nora, role=Membership.Role.LEAD)
    Membership.objects.filter(project=elsewhere, user=lead).delete()
    return nora


@pytest.fixture
def world(make_project, annotator, other_annotator, lead, non_member):
    project = make_project(
        k=3,
        n_prompts=3,
        members=[annotator, other_annotator],
        annotations_per_prompt=2,
    )
    own = assignment_next(project=project, annotator=annotator)
    own_annotation = submit_ranked(own, annotator)
    others = assignment_next(project=project, annotator=other_annotator)
    others_annotation = submit_ranked(others, other_annotator)
    own_open = assignment_next(project=project, annotator=annotator)
    return {
        "project": project.pk,
        "own_prompt": own.prompt_id,
        "others_prompt": others.prompt_id,
        "own_candidate": own.display_order[0],
        "others_candidate": others.display_order[0],
        "own_assignment": own.pk,
        "own_open_assignment": own_open.pk,
        "others_assignment": others.pk,
        "own_annotation": own_annotation,
        "others_annotation": others_annotation,
        "own_comparison": Comparison.objects.filter(annotation_id=own_annotation)
        .first()
        .pk,
        "others_comparison": Comparison.objects.filter(annotation_id=others_annotation)
        .first()
        .pk,
        "own_open_order": own_open.display_order,
    }


@pytest.fixture
def client_for(annotator, lead, non_member):
    users = {"annotator": annotator, "lead": lead, "non_member": non_member}

    def make(role: str) -> APIClient:
        client = APIClient()
        if role != "anonymous":
            client.force_authenticate(users[role])
        return client

    return make


def ranked_body(world: dict[str, Any], assignment_key: str) -> dict[str, Any]:
    order = world["own_open_order"]
    return {
        "assignment": world[assignment_key],
        "client_id": str(uuid.uuid4()),
        "ranking": [[cid] for cid in order],
        "likert": {str(cid): 7 - i for i, cid in enumerate(order)},
    }


Body = Callable[[dict[str, Any]], Any] | None

# (method, path, body, {role: status}); annotator = ada, whose data is "own_*".
MATRIX: list[tuple[str, str, Body, dict[str, int]]] = [
    ("get", "projects/{project}/", None, {"annotator": 200, "non_member": 404}),
    (
        "patch",
        "projects/{project}/",
        lambda w: {"instructions": "Be kind."},
        {"annotator": 403, "non_member": 404},
    ),
    (
        "post",
        "projects/",
        lambda w: {"slug": "new", "name": "New"},
        {"annotator": 403, "lead": 403, "non_member": 403},
    ),
    ("get", "prompts/{own_prompt}/", None, {"annotator": 200, "non_member": 404}),
    ("get", "prompts/{others_prompt}/", None, {"annotator": 404, "non_member": 404}),
    (
        "post",
        "prompts/",
        lambda w: [{"project": w["project"], "text": "A new prompt"}],
        {"annotator": 403, "lead": 201, "non_member": 400},
    ),
    ("get", "candidates/{own_candidate}/", None, {"annotator": 200, "non_member": 404}),
    (
        "get",
        "candidates/{others_candidate}/",
        None,
        {"annotator": 404, "non_member": 404},
    ),
    (
        "post",
        "candidates/",
        lambda w: [{"prompt": w["own_prompt"], "text": "New output", "source": "m9"}],
        {"annotator": 403, "lead": 201, "non_member": 400},
    ),
    (
        "get",
        "assignments/{own_assignment}/",
        None,
        {"annotator": 200, "non_member": 404},
    ),
    (
        "get",
        "assignments/{others_assignment}/",
        None,
        {"annotator": 404, "non_member": 404},
    ),
    (
        "post",
        "assignments/next/",
        lambda w: {"project": w["project"]},
        {"annotator": 200, "lead": 200, "non_member": 400},
    ),
    (
        "post",
        "assignments/{own_open_assignment}/skip/",
        lambda w: {"client_id": str(uuid.uuid4()), "reason": "Unreadable"},
        {"annotator": 201, "lead": 403, "non_member": 404},
    ),
    (
        "post",
        "assignments/{others_assignment}/skip/",
        lambda w: {"client_id": str(uuid.uuid4()), "reason": "Unreadable"},
        {"annotator": 404, "lead": 403, "non_member": 404},
    ),
    (
        "post",
        "annotations/",
        lambda w: ranked_body(w, "own_open_assignment"),
        {"annotator": 201, "lead": 400, "non_member": 400},
    ),
    (
        "post",
        "annotations/",
        lambda w: ranked_body(w, "others_assignment"),
        {"annotator": 400, "lead": 400, "non_member": 400},
    ),
    (
        "get",
        "annotations/{own_annotation}/",
        None,
        {"annotator": 200, "non_member": 404},
    ),
    (
        "get",
        "annotations/{others_annotation}/",
        None,
        {"annotator": 404, "non_member": 404},
    ),
    (
        "get",
        "comparisons/{own_comparison}/",
        None,
        {"annotator": 200, "non_member": 404},
    ),
    (
        "get",
        "comparisons/{others_comparison}/",
        None,
        {"annotator": 404, "non_member": 404},
    ),
    (
        "post",
        "exports/",
        lambda w: {"project": w["project"], "format": "pairs"},
        {"annotator": 403, "non_member": 400},
    ),
    (
        "post",
        "imports/",
        lambda w: {
            "project": w["project"],
            "format": "trl",
            "records": [{"prompt": "2+2?", "chosen": "4", "rejected": "5"}],
        },
        {"annotator": 403, "lead": 201, "non_member": 400},
    ),
    ("get", "rounds/", None, {}),
    (
        "post",
        "rounds/",
        lambda w: {"project": w["project"]},
        # The lead may launch; two rankings are too few, and the refusal says so.
        {"annotator": 403, "lead": 400, "non_member": 400},
    ),
    ("get", "model-versions/", None, {}),
]


def _expected(row_expectations: dict[str, int], role: str) -> int:
    """Anonymous callers always get 401; leads, unless listed, a plain success."""
    if role == "anonymous":
        return 401
    return row_expectations.get(role, 200)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("method", "path", "body", "expectations"),
    MATRIX,
    ids=[f"{method} {path}#{n}" for n, (method, path, _, _) in enumerate(MATRIX)],
)
def test_permission_matrix(world, client_for, role, method, path, body, expectations):
    url = "/api/v1/" + path.format(**world)
    data = None if body is None else body(world)
    response = getattr(client_for(role), method)(url, data=data, format="json")
    assert response.status_code == _expected(expectations, role), response.content
    if response.status_code >= 400:
        assert response.json()["errors"], "every refusal says which field and why"


# What each role sees of project P in the lists, as keys of `world`.
VISIBLE = {
    "prompts": {
        "annotator": {"own_prompt", "own_open_prompt"},
        "lead": {"own_prompt", "own_open_prompt", "others_prompt"},
        "non_member": set(),
    },
    "assignments": {
        "annotator": {"own_assignment", "own_open_assignment"},
        "lead": {"own_assignment", "own_open_assignment", "others_assignment"},
        "non_member": set(),
    },
    "annotations": {
        "annotator": {"own_annotation"},
        "lead": {"own_annotation", "others_annotation"},
        "non_member": set(),
    },
}


@pytest.mark.parametrize("role", ["annotator", "lead", "non_member"])
@pytest.mark.parametrize("resource", sorted(VISIBLE))
def test_lists_show_only_what_the_role_may_see(world, client_for, role, resource):
    world = {**world, "own_open_prompt": _prompt_of(world["own_open_assignment"])}
    url = f"/api/v1/{resource}/?project={world['project']}"
    ids = {row["id"] for row in _all_pages(client_for(role), url)}
    assert ids == {world[key] for key in VISIBLE[resource][role]}


def _prompt_of(assignment_id: int) -> int:
    return Assignment.objects.get(pk=assignment_id).prompt_id


def _all_pages(client: APIClient, url: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    while url:
        page = client.get(url).json()
        rows += page["results"]
        url = page["next"]
    return rows


def test_annotators_see_outputs_of_their_tasks_without_model_identity(
    world, client_for
):
    rows = _all_pages(client_for("annotator"), "/api/v1/candidates/")
    assert {row["prompt"] for row in rows} == {
        world["own_prompt"],
        _prompt_of(world["own_open_assignment"]),
    }
    assert all(row["source"] is None for row in rows)
    lead_rows = _all_pages(client_for("lead"), "/api/v1/candidates/")
    assert len(lead_rows) == 9 and all(row["source"] for row in lead_rows)


def test_comparisons_of_other_annotators_stay_hidden(world, client_for):
    rows = _all_pages(client_for("annotator"), "/api/v1/comparisons/")
    assert {row["annotation"] for row in rows} == {world["own_annotation"]}
    assert {row["annotator"] for row in rows} == {"ada_annotator"}


def test_a_removed_annotator_no_longer_sees_their_tasks(world, client_for, annotator):
    Membership.objects.filter(user=annotator).delete()
    assert _all_pages(client_for("annotator"), "/api/v1/assignments/") == []
    url = "/api/v1/annotations/{own_annotation}/".format(**world)
    assert client_for("annotator").get(url).status_code == 404


def test_only_superusers_or_granted_users_create_projects(django_user_model, db):
    """is_staff alone creates nothing; a granted creator leads what they create."""
    from django.contrib.auth.models import Permission

    staff = django_user_model.objects.create_user("sam", password="pw", is_staff=True)
    api = APIClient()
    api.force_authenticate(staff)
    body = {"slug": "new", "name": "New"}
    refused = api.post("/api/v1/projects/", body, format="json")
    assert refused.status_code == 403
    assert "add-project permission" in refused.json()["errors"]["detail"]

    staff.user_permissions.add(Permission.objects.get(codename="add_project"))
    staff = django_user_model.objects.get(pk=staff.pk)  # drop the cached permissions
    api.force_authenticate(staff)
    response = api.post("/api/v1/projects/", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["your_role"] == "lead"
    assert Membership.objects.get(user=staff).role == "lead"

    root = django_user_model.objects.create_superuser("root", password="pw")
    api.force_authenticate(root)
    two = {"slug": "two", "name": "Two"}
    response = api.post("/api/v1/projects/", two, format="json")
    assert response.status_code == 201 and response.json()["your_role"] == "lead"
    assert not Membership.objects.filter(user=root).exists()  # leads every project
