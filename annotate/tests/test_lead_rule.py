"""One lead rule: a superuser, or a lead membership of the project; nothing else.

The world: project P (slug "p") led by lena and judged by ada; rex judged P too and was
then removed. Project Q is led by quinn and judged by otto. Sam is staff and belongs
to nothing; root is a superuser and belongs to nothing. Lena and quinn are staff, so
the admin site lets them in. Every user holds an open task in P, taken before the
checks below (staff could take tasks before this rule; rex took his while a member).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse
from rest_framework.test import APIClient

from annotate import selectors
from annotate.models import Annotation, Assignment, Membership, Project
from annotate.services import assignment_next, membership_remove, membership_set
from api.tests.test_api_permissions import submit_ranked

pytestmark = pytest.mark.django_db

USERS = ["superuser", "lead_p", "lead_q", "staff", "annotator_p", "removed_p", "anon"]


@pytest.fixture
def world(
    make_project,
    lead,
    annotator,
    other_annotator,
    django_user_model,
    settings,
    tmp_path,
) -> dict[str, Any]:
    settings.RANKWISE_MODELS_DIR = tmp_path / "models"
    new_user = django_user_model.objects.create_user
    users: dict[str, User] = {
        "superuser": django_user_model.objects.create_superuser("root", password="pw"),
        "lead_p": lead,
        "lead_q": new_user("quinn_lead", password="pw", is_staff=True),
        "staff": new_user("sam_staff", password="pw", is_staff=True),
        "annotator_p": annotator,
        "removed_p": new_user("rex_removed", password="pw"),
    }
    lead.is_staff = True
    lead.save(update_fields=["is_staff"])
    p = make_project(
        k=3,
        n_prompts=8,
        slug="p",
        members=[annotator, users["removed_p"]],
        annotations_per_prompt=2,
    )
    q = make_project(k=3, n_prompts=2, slug="q", members=[other_annotator])
    Membership.objects.filter(project=q, user=lead).delete()
    membership_set(project=q, user=users["lead_q"], role=Membership.Role.LEAD)
    for project, judge in [
        (p, annotator),
        (p, users["removed_p"]),
        (q, other_annotator),
    ]:
        submit_ranked(assignment_next(project=project, annotator=judge), judge)
    open_tasks = {
        name: assignment_next(project=p, annotator=user) for name, user in users.items()
    }
    # Deleting the row, as a script would: the open task survives, so only the
    # submit-time check stands between rex and P (membership_remove frees it).
    Membership.objects.filter(project=p, user=users["removed_p"]).delete()
    return {"p": p, "q": q, "users": users, "open_tasks": open_tasks}


def client_of(world: dict[str, Any], name: str) -> APIClient:
    client = APIClient()
    if name != "anon":
        user = world["users"][name]
        client.force_login(user)  # pages and the admin
        client.force_authenticate(user)  # the API
    return client


def ranked(assignment: Assignment) -> dict[str, Any]:
    order = assignment.display_order
    return {
        "client_id": str(uuid.uuid4()),
        "ranking": [[cid] for cid in order],
        "likert": {str(cid): 7 - i for i, cid in enumerate(order)},
    }


def own_task(world: dict[str, Any], name: str) -> Assignment:
    """The user's open task in P; anonymous callers try ada's."""
    return world["open_tasks"]["annotator_p" if name == "anon" else name]


def round_page(project: Project) -> str:
    """The live page of a new round of the project."""
    from training.services import base_policy_version

    round_ = project.rounds.create(
        number=1, algorithm="dpo", base_policy=base_policy_version(project)
    )
    return reverse("admin:training_round_live", args=[round_.pk])


Request = Callable[[APIClient, dict[str, Any], str], Any]

ACTIONS: dict[str, Request] = {
    "api: view P": lambda c, w, n: c.get(f"/api/v1/projects/{w['p'].pk}/"),
    "api: export P's raw annotations": lambda c, w, n: c.post(
        "/api/v1/exports/", {"project": w["p"].pk, "format": "raw"}, format="json"
    ),
    "api: import into P": lambda c, w, n: c.post(
        "/api/v1/imports/",
        {
            "project": w["p"].pk,
            "format": "trl",
            "records": [{"prompt": "2+2?", "chosen": "4", "rejected": "5"}],
        },
        format="json",
    ),
    "api: PATCH P's settings": lambda c, w, n: c.patch(
        f"/api/v1/projects/{w['p'].pk}/", {"instructions": "Be kind."}, format="json"
    ),
    "api: list P's members": lambda c, w, n: c.get(
        f"/api/v1/projects/{w['p'].pk}/members/"
    ),
    "web: P's project page": lambda c, w, n: c.get(f"/p/{w['p'].slug}/"),
    "web: P's export page": lambda c, w, n: c.get(f"/p/{w['p'].slug}/export/"),
    "admin: launch form for P": lambda c, w, n: c.get(
        reverse("admin:training_round_launch") + f"?project={w['p'].pk}"
    ),
    "admin: round page of P": lambda c, w, n: c.get(round_page(w["p"])),
    "api: take a task in P": lambda c, w, n: c.post(
        "/api/v1/assignments/next/", {"project": w["p"].pk}, format="json"
    ),
    "api: submit own open task in P": lambda c, w, n: c.post(
        "/api/v1/annotations/",
        {"assignment": own_task(w, n).pk, **ranked(own_task(w, n))},
        format="json",
    ),
    "api: skip own open task in P": lambda c, w, n: c.post(
        f"/api/v1/assignments/{own_task(w, n).pk}/skip/",
        {"client_id": str(uuid.uuid4()), "reason": "Cannot judge"},
        format="json",
    ),
    "web: submit own open task in P": lambda c, w, n: c.post(
        f"/p/{w['p'].slug}/task/{own_task(w, n).pk}/submit/",
        ranked(own_task(w, n)),
        content_type="application/json",
    ),
}

# Expected status per user, in the order of USERS. 302 is always to a login page:
# the web's for anonymous visitors, the admin's for anyone who is not staff.
EXPECTED: dict[str, list[int]] = {
    "api: view P": [200, 200, 404, 404, 200, 404, 401],
    "api: export P's raw annotations": [200, 200, 400, 400, 403, 400, 401],
    "api: import into P": [201, 201, 400, 400, 403, 400, 401],
    "api: PATCH P's settings": [200, 200, 404, 404, 403, 404, 401],
    "api: list P's members": [200, 200, 404, 404, 403, 404, 401],
    "web: P's project page": [200, 200, 403, 403, 403, 403, 302],
    "web: P's export page": [200, 200, 403, 403, 403, 403, 302],
    "admin: launch form for P": [200, 200, 403, 403, 302, 302, 302],
    "admin: round page of P": [200, 200, 403, 403, 302, 302, 302],
    "api: take a task in P": [200, 200, 400, 400, 200, 400, 401],
    "api: submit own open task in P": [201, 201, 403, 403, 201, 403, 401],
    # Not a member: the task is not among those they may see, so not found.
    "api: skip own open task in P": [201, 201, 404, 404, 201, 404, 401],
    "web: submit own open task in P": [201, 201, 403, 403, 201, 403, 401],
}


@pytest.mark.parametrize("user", USERS)
@pytest.mark.parametrize("action", list(ACTIONS))
def test_permission_matrix(world, action, user):
    response = ACTIONS[action](client_of(world, user), world, user)
    expected = EXPECTED[action][USERS.index(user)]
    assert response.status_code == expected, getattr(response, "content", b"")[:300]
    if expected == 302:
        assert "login" in response["Location"]


def test_the_api_refuses_a_removed_members_task_saying_why(world):
    task = own_task(world, "removed_p")
    response = client_of(world, "removed_p").post(
        "/api/v1/annotations/", {"assignment": task.pk, **ranked(task)}, format="json"
    )
    assert response.status_code == 403
    assert response.json() == {
        "errors": {
            "detail": f"You are no longer a member of project p, so task {task.pk} "
            "can be neither submitted nor skipped; a lead of the project can add "
            "you again."
        }
    }
    task.refresh_from_db()
    assert (
        task.status == Assignment.Status.OPEN
        and not Annotation.objects.filter(assignment=task).exists()
    )


def test_the_web_refuses_a_removed_member_with_a_clear_message(world):
    client = client_of(world, "removed_p")
    task = own_task(world, "removed_p")
    page = client.get(f"/p/p/task/{task.pk}/")
    assert page.status_code == 403
    assert "You are not a member of this project." in page.content.decode()
    submit = client.post(
        f"/p/p/task/{task.pk}/submit/", ranked(task), content_type="application/json"
    )
    assert submit.json() == {
        "errors": {"project": "You are not a member of this project."}
    }


# Rows of each admin list. P: 8 prompts, 2 annotations, 8 tasks (2 done, 6 open);
# Q: 2 prompts, 1 annotation, 1 task.
ADMIN_ROWS = {
    "superuser": {"annotation": 3, "prompt": 10, "assignment": 9, "project": 2},
    "lead_p": {"annotation": 2, "prompt": 8, "assignment": 8, "project": 1},
    "lead_q": {"annotation": 1, "prompt": 2, "assignment": 1, "project": 1},
}


@pytest.mark.parametrize("user", USERS)
@pytest.mark.parametrize("model", ["annotation", "prompt", "assignment", "project"])
def test_admin_lists_hold_the_rows_of_the_projects_led(world, user, model):
    response = client_of(world, user).get(reverse(f"admin:annotate_{model}_changelist"))
    if user in ADMIN_ROWS:
        assert response.status_code == 200
        assert response.context["cl"].result_count == ADMIN_ROWS[user][model]
    elif user == "staff":
        assert response.status_code == 403  # in the admin, but leads nothing
    else:
        assert response.status_code == 302 and "login" in response["Location"]


def test_a_leads_admin_filters_and_rows_name_no_other_project(
    world, django_assert_max_num_queries
):
    client = client_of(world, "lead_p")
    listing = client.get(reverse("admin:annotate_prompt_changelist"))
    html = listing.content.decode()
    assert "Project p" in html and "Project q" not in html
    assert (
        "Project q"
        in client_of(world, "superuser")
        .get(reverse("admin:annotate_annotation_changelist"))
        .content.decode()
    )  # the project filter, which lena's list does not show
    others = Annotation.objects.get(assignment__prompt__project=world["q"])
    change = reverse("admin:annotate_annotation_change", args=[others.pk])
    assert client.get(change).status_code == 302  # "not found", back to the list
    # Every model admin asks whether lena leads some project: one query answers all.
    with django_assert_max_num_queries(6):
        index = client.get(reverse("admin:index")).content.decode()
    assert "Annotations" in index and "Model versions" in index


def test_the_admin_offers_a_lead_only_their_projects_prompts(world):
    client = client_of(world, "lead_p")
    page = client.get(reverse("admin:annotate_prompt_add"))
    assert list(page.context["adminform"].form.fields["project"].queryset) == [
        world["p"]
    ]
    other_prompt = world["q"].prompts.first()
    refused = client.post(
        reverse("admin:annotate_candidate_add"),
        {"prompt": other_prompt.pk, "text": "Sneaked in", "source": "m9"},
    )
    assert refused.status_code == 200  # the form again, with the error
    assert "prompt" in refused.context["adminform"].form.errors
    assert not other_prompt.candidates.filter(text="Sneaked in").exists()


def test_projects_are_created_and_deleted_only_with_the_site_wide_right(world):
    add = reverse("admin:annotate_project_add")
    delete_p = reverse("admin:annotate_project_delete", args=[world["p"].pk])
    for name in ("staff", "lead_p"):
        assert client_of(world, name).get(add).status_code == 403
    lead_api = client_of(world, "lead_p")
    assert lead_api.post(delete_p, {"post": "yes"}).status_code == 403
    assert Project.objects.filter(slug="p").exists()

    sam = world["users"]["staff"]
    sam.user_permissions.add(Permission.objects.get(codename="add_project"))
    sam_admin = client_of(world, "staff")
    data = admin_form_data(sam_admin.get(add))
    created = sam_admin.post(add, {**data, "name": "Sam's", "slug": "sams"})
    assert created.status_code == 302
    sams = Project.objects.get(slug="sams")
    assert selectors.user_leads(user=sam, project=sams)  # he leads what he made
    listing = sam_admin.get(reverse("admin:annotate_project_changelist"))
    assert list(listing.context["cl"].result_list) == [sams]


def members_url(project: Project, username: str = "") -> str:
    tail = f"{username}/" if username else ""
    return f"/api/v1/projects/{project.pk}/members/{tail}"


def test_a_lead_adds_re_roles_lists_and_removes_members(world, other_annotator):
    p, lead_api = world["p"], client_of(world, "lead_p")
    added = lead_api.post(members_url(p), {"username": "otto_annotator"}, format="json")
    assert added.status_code == 201
    assert added.json() == {"username": "otto_annotator", "role": "annotator"}
    promoted = lead_api.post(
        members_url(p), {"username": "otto_annotator", "role": "lead"}, format="json"
    )
    assert promoted.status_code == 200 and promoted.json()["role"] == "lead"
    assert selectors.user_leads(user=other_annotator, project=p)
    listing = lead_api.get(members_url(p)).json()
    assert [(row["username"], row["role"]) for row in listing["results"]] == [
        ("ada_annotator", "annotator"),
        ("lena_lead", "lead"),
        ("otto_annotator", "lead"),
    ]
    # The new lead may now manage P's members too, leads included.
    otto_api = APIClient()
    otto_api.force_authenticate(other_annotator)
    removed = otto_api.delete(members_url(p, "lena_lead"))
    assert removed.status_code == 200
    assert removed.json() == {
        "username": "lena_lead",
        "role": "lead",
        "released_assignments": 1,
    }
    assert lead_api.get(members_url(p)).status_code == 404  # lena is out of P


def test_member_requests_name_what_is_wrong(world):
    p, lead_api = world["p"], client_of(world, "lead_p")
    unknown = lead_api.post(members_url(p), {"username": "nobody"}, format="json")
    assert unknown.status_code == 400
    assert unknown.json()["errors"]["username"].startswith("No user named 'nobody'")
    bad_role = lead_api.post(
        members_url(p), {"username": "sam_staff", "role": "owner"}, format="json"
    )
    assert bad_role.status_code == 400 and "role" in bad_role.json()["errors"]
    not_member = lead_api.delete(members_url(p, "sam_staff"))
    assert not_member.status_code == 404
    assert not_member.json() == {
        "errors": {"detail": f"No member 'sam_staff' in project {p.pk}."}
    }
    refused = client_of(world, "annotator_p").post(
        members_url(p), {"username": "nobody"}, format="json"
    )  # refused for who asks, before what is asked is looked at
    assert refused.status_code == 403
    assert refused.json() == {
        "errors": {
            "detail": "Only a project's leads may manage its members; you do not "
            f"lead project(s) {p.pk}."
        }
    }
    assert lead_api.get(f"/api/v1/projects/{2**63}/members/").status_code == 404


def test_removing_a_member_keeps_their_work_and_frees_their_open_task(world):
    p, ada = world["p"], world["users"]["annotator_p"]
    task = own_task(world, "annotator_p")
    submitted = Annotation.objects.get(assignment__annotator=ada)
    response = client_of(world, "lead_p").delete(members_url(p, "ada_annotator"))
    assert response.json()["released_assignments"] == 1
    assert not Assignment.objects.filter(pk=task.pk).exists()
    assert Annotation.objects.filter(pk=submitted.pk).exists()  # her work stays
    retry = client_of(world, "annotator_p").post(
        "/api/v1/annotations/", {"assignment": task.pk, **ranked(task)}, format="json"
    )
    assert retry.status_code == 400
    assert retry.json()["errors"]["assignment"] == (
        f"No assignment {task.pk} of yours exists; if a lead removed you from its "
        "project, it went back to the pool."
    )
    # Her prompt needs a judge again: the next annotator is handed it.
    newcomer = User.objects.create_user("nina_new")
    membership_set(project=p, user=newcomer, role=Membership.Role.ANNOTATOR)
    assert assignment_next(project=p, annotator=newcomer).prompt_id == task.prompt_id
    assert membership_remove(project=p, user=ada) == 0  # removing twice: nothing


def test_deleting_a_membership_in_the_admin_frees_open_tasks_too(world):
    p, client = world["p"], client_of(world, "lead_p")
    url = reverse("admin:annotate_project_change", args=[p.pk])
    page = client.get(url)
    data = admin_form_data(page)
    ada_row = next(
        key.rsplit("-", 1)[0]
        for key, value in data.items()
        if key.endswith("-user") and value == world["users"]["annotator_p"].pk
    )
    data[f"{ada_row}-DELETE"] = "on"
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert not Membership.objects.filter(project=p, user__username="ada_annotator")
    assert not Assignment.objects.filter(pk=own_task(world, "annotator_p").pk)


def admin_form_data(page: Any) -> dict[str, Any]:
    """What a browser submits for an admin change page: the form and its inlines."""
    data: dict[str, Any] = {}
    forms = [page.context["adminform"].form]
    for inline in page.context["inline_admin_formsets"]:
        forms += [inline.formset.management_form, *inline.formset.forms]
    for form in forms:
        for field in form:
            value = field.value()
            if value is None or value is False:
                continue
            data[field.html_name] = "on" if value is True else value
    return data


def test_the_demo_lead_leads_the_demo_everywhere():
    from annotate.demo import demo_seed

    project, _, _ = demo_seed()
    demo_lead = User.objects.get(username="lead")
    assert demo_lead.is_staff and demo_lead.is_superuser
    assert selectors.user_leads(user=demo_lead, project=project)
    client = APIClient()
    client.force_login(demo_lead)
    client.force_authenticate(demo_lead)
    assert client.get(f"/p/{project.slug}/").status_code == 200
    assert (
        client.get(reverse("admin:annotate_annotation_changelist")).status_code == 200
    )
    patch = client.patch(
        f"/api/v1/projects/{project.pk}/", {"annotations_per_prompt": 2}, format="json"
    )
    assert patch.status_code == 200 and patch.json()["your_role"] == "lead"
    assert client.get(members_url(project)).json()["count"] == 3
