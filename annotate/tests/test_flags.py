"""Flags with descriptions: the schema's checks, the task page, the lead's admin."""

import importlib
import re
import uuid

import pytest
from django.apps import apps
from django.urls import reverse
from rest_framework.test import APIClient

from annotate.flags import flag_schema_errors
from annotate.models import DEFAULT_FLAGS, Project
from annotate.services import Submission, annotation_submit, assignment_next

pytestmark = pytest.mark.django_db


def test_schema_errors_name_the_flag_and_what_was_expected():
    assert flag_schema_errors(list(DEFAULT_FLAGS)) == []
    assert flag_schema_errors([{"key": "rude", "label": "Rude"}]) == []
    assert flag_schema_errors("rude") == [
        "Expected a list of flags, each with a key, a label and a description."
    ]
    flags = [
        {"key": "rude", "label": "Rude", "description": "Insults the user."},
        {"key": "rude", "label": "Again"},
        {"key": "bad key", "label": "", "description": "two\nlines", "colour": 1},
    ]
    assert flag_schema_errors(flags) == [
        "Flag 3 (bad key): the key must be 1–50 letters, digits, _ or -, "
        "got 'bad key'.",
        "Flag 3 (bad key): the label must be 1–200 characters.",
        "Flag 3 (bad key): the description must be one line of at most 300 characters.",
        "Flag 3 (bad key): unknown field(s) colour; expected key, label, description.",
        "Flag keys must be unique; repeated: rude.",
    ]


def test_every_default_flag_has_a_one_line_description():
    assert all(flag["description"].strip() for flag in DEFAULT_FLAGS)
    assert flag_schema_errors(list(DEFAULT_FLAGS)) == []


@pytest.fixture
def project(make_project, annotator):
    return make_project(k=3, n_prompts=2, members=[annotator])


def flag_two_outputs(project, annotator, key="harmful_advice"):
    assignment = assignment_next(project=project, annotator=annotator)
    order = assignment.display_order
    annotation_submit(
        assignment_id=assignment.pk,
        annotator=annotator,
        submission=Submission(
            client_id=uuid.uuid4(),
            buckets=[[cid] for cid in order],
            likert={cid: 7 - i for i, cid in enumerate(order)},
            flags={order[1]: [key], order[2]: [key, "violent"]},
        ),
    )


def test_the_task_page_shows_each_description_tied_to_its_checkbox(
    client, project, annotator
):
    client.force_login(annotator)
    page = client.get(reverse("annotate:label", args=[project.slug]), follow=True)
    html = page.content.decode()
    advice = next(f for f in DEFAULT_FLAGS if f["key"] == "harmful_advice")
    assert html.count(advice["description"]) == 3  # once under each output
    described = re.findall(
        r'value="harmful_advice" aria-describedby="(flag-help-\d+-harmful_advice)"',
        html,
    )
    assert len(described) == 3
    for help_id in described:
        assert f'<p class="flag-help" id="{help_id}">{advice["description"]}</p>' in (
            html
        )


@pytest.fixture
def lead_admin(client, lead):
    lead.is_staff = True
    lead.save()
    client.force_login(lead)
    return client


def change_url(project):
    return reverse("admin:annotate_project_change", args=[project.pk])


def post_flags(client, project, flags_text):
    """The change form as the admin shows it, with the flags box replaced."""
    page = client.get(change_url(project))
    form = page.context["adminform"].form
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value is True:
            data[name] = "on"
        elif value is not False and value is not None:
            data[name] = value
    for inline in page.context["inline_admin_formsets"]:
        prefix = inline.formset.prefix
        data |= {f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"}
    return client.post(change_url(project), {**data, "flags": flags_text})


def test_the_admin_shows_flags_as_editable_lines(lead_admin, project):
    html = lead_admin.get(change_url(project)).content.decode()
    assert (
        "harmful_advice | Gives harmful advice | Advice that could hurt someone"
    ) in html
    assert "One flag per line: key | label | description." in html


def test_a_lead_rewords_adds_and_removes_unused_flags(lead_admin, project):
    text = (
        "harmful_advice | Harmful advice | Could hurt someone who follows it.\n"
        "\n"
        "hallucination | Makes things up | States facts that are not true.\n"
        "rude | Rude |  \n"
    )
    response = post_flags(lead_admin, project, text)
    assert response.status_code == 302, response.context["adminform"].form.errors
    project.refresh_from_db()
    assert project.flags == [
        {
            "key": "harmful_advice",
            "label": "Harmful advice",
            "description": "Could hurt someone who follows it.",
        },
        {
            "key": "hallucination",
            "label": "Makes things up",
            "description": "States facts that are not true.",
        },
        {"key": "rude", "label": "Rude", "description": ""},
    ]


def test_removing_a_flag_judgements_use_is_refused_with_the_count(
    lead_admin, project, annotator
):
    flag_two_outputs(project, annotator)
    before = list(project.flags)
    kept = "\n".join(
        f"{f['key']} | {f['label']} | {f['description']}"
        for f in before
        if f["key"] not in ("harmful_advice", "violent", "moral_judgment")
    )
    response = post_flags(lead_admin, project, kept)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["flags"] == [
        "Flag 'harmful_advice' is ticked in 2 judgements of this project, so it "
        "cannot be removed or renamed; keep its key and change its label or "
        "description instead.",
        "Flag 'violent' is ticked in 1 judgement of this project, so it cannot be "
        "removed or renamed; keep its key and change its label or description "
        "instead.",
    ]
    project.refresh_from_db()
    assert project.flags == before
    unused_removed = kept + "\nharmful_advice | Advice | x\nviolent | Violent | y"
    assert post_flags(lead_admin, project, unused_removed).status_code == 302
    project.refresh_from_db()
    assert "moral_judgment" not in project.flag_keys


def test_bad_lines_and_repeated_keys_are_refused_by_line_and_key(lead_admin, project):
    response = post_flags(lead_admin, project, "rude | Rude\njust-a-key\nrude | Again")
    assert response.context["adminform"].form.errors["flags"] == [
        "Line 2: expected key | label | description, got 'just-a-key'."
    ]
    response = post_flags(lead_admin, project, "rude | Rude\nrude | Again | x")
    assert response.context["adminform"].form.errors["flags"] == [
        "Flag keys must be unique; repeated: rude."
    ]
    shown = response.content.decode()
    assert "rude | Again | x" in shown  # the lead's text comes back to fix


def test_the_migration_describes_stored_default_flags():
    migration = importlib.import_module("annotate.migrations.0009_flag_descriptions")
    project = Project.objects.create(
        slug="old",
        name="Old",
        flags=[{"key": "violent", "label": "Violent"}, {"key": "own", "label": "Own"}],
    )
    migration.describe_flags(apps, None)
    project.refresh_from_db()
    assert project.flags == [
        {
            "key": "violent",
            "label": "Violent",
            "description": "Describes or depicts violence, injury or cruelty.",
        },
        {"key": "own", "label": "Own", "description": ""},
    ]


def test_the_api_keeps_descriptions_and_refuses_dropping_a_used_flag(
    project, annotator, lead
):
    flag_two_outputs(project, annotator)
    client = APIClient()
    client.force_authenticate(lead)
    kept = [
        {**flag, "description": "Reworded."} if flag["key"] == "violent" else flag
        for flag in project.flags
    ]
    saved = client.patch(f"/api/v1/projects/{project.pk}/", {"flags": kept}, "json")
    assert saved.status_code == 200, saved.json()
    project.refresh_from_db()
    assert {f["key"]: f["description"] for f in project.flags}["violent"] == "Reworded."
    dropped = [flag for flag in project.flags if flag["key"] != "harmful_advice"]
    refused = client.patch(
        f"/api/v1/projects/{project.pk}/", {"flags": dropped}, "json"
    )
    assert refused.status_code == 400
    assert refused.json()["errors"]["flags"] == (
        "Flag 'harmful_advice' is ticked in 2 judgements of this project, so it "
        "cannot be removed or renamed; keep its key and change its label or "
        "description instead."
    )
    project.refresh_from_db()
    assert "harmful_advice" in project.flag_keys
