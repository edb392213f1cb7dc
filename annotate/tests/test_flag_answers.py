"""The prompt-level checklist and explicit Yes/No flag answers: the checklist's
checks, what a submit or draft stores and refuses, exports, and the lead's admin."""

import importlib
import uuid

import pyarrow.parquet as pq
import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.urls import reverse

from annotate.exporting import ExportOptions, export_records, export_to_path
from annotate.models import (
    DEFAULT_PROMPT_FLAGS,
    Annotation,
    Candidate,
    Judgement,
    Project,
    Prompt,
)
from annotate.services import (
    Draft,
    Submission,
    SubmissionError,
    annotation_submit,
    assignment_draft_save,
    assignment_next,
)

pytestmark = pytest.mark.django_db

FLAGS = [
    {"key": "hallucination", "label": "Hallucination", "description": "Made up."},
    {"key": "rude", "label": "Rude", "description": ""},
]
PROMPT_FLAGS = [
    {"key": "unclear", "label": "Unclear", "description": "Could mean two things."},
    {"key": "personal_data", "label": "Personal data", "description": ""},
]


@pytest.fixture
def yes_no(make_project, annotator):
    return make_project(
        k=2,
        n_prompts=3,
        members=[annotator],
        flags=FLAGS,
        prompt_flags=PROMPT_FLAGS,
        flag_answers=Project.FlagAnswers.YES_NO,
    )


@pytest.fixture
def ticking(make_project, annotator):
    return make_project(k=2, n_prompts=2, slug="tick", members=[annotator], flags=FLAGS)


def ranked(assignment, **answers):
    """A full ranking and ratings of the assignment's two outputs, A first."""
    a, b = assignment.display_order
    return Submission(
        client_id=uuid.uuid4(), buckets=[[a], [b]], likert={a: 6, b: 3}, **answers
    )


def submit(project, annotator, answers):
    assignment = assignment_next(project=project, annotator=annotator)
    annotation, _ = annotation_submit(
        assignment_id=assignment.pk,
        annotator=annotator,
        submission=ranked(assignment, **answers(assignment.display_order)),
    )
    return assignment, annotation


def refused(project, annotator, answers):
    assignment = assignment_next(project=project, annotator=annotator)
    with pytest.raises(SubmissionError) as refusal:
        annotation_submit(
            assignment_id=assignment.pk,
            annotator=annotator,
            submission=ranked(assignment, **answers(assignment.display_order)),
        )
    assert not Annotation.objects.exists()  # nothing written
    return refusal.value.errors


def every_answer(order):
    """Output A: hallucination Yes, rude No; B: both No; prompt: unclear Yes."""
    a, b = order
    return {
        "flags": {a: ["hallucination"]},
        "flags_no": {a: ["rude"], b: ["hallucination", "rude"]},
        "prompt_flags": ["unclear"],
        "prompt_flags_no": ["personal_data"],
    }


def test_new_projects_ask_the_default_prompt_checklist_by_ticking(make_project):
    project = make_project(slug="defaults")
    assert project.prompt_flags == DEFAULT_PROMPT_FLAGS
    assert [flag["key"] for flag in project.prompt_flags] == [
        "unclear",
        "personal_data",
        "harmful_request",
    ]
    assert project.flag_answers == "tick"
    project.prompt_flags = []  # turns the checklist off
    project.full_clean()


def test_the_prompt_checklist_is_checked_like_the_flags(yes_no):
    yes_no.prompt_flags = [{"key": "bad key", "label": "x"}, {"key": "y"}]
    with pytest.raises(ValidationError) as refusal:
        yes_no.full_clean()
    assert refusal.value.message_dict == {
        "prompt_flags": [
            "Flag 1 (bad key): the key must be 1–50 letters, digits, _ or -, "
            "got 'bad key'.",
            "Flag 2 (y): the label must be 1–200 characters.",
        ]
    }


def test_a_yes_no_submit_stores_every_answer(yes_no, annotator):
    assignment, annotation = submit(yes_no, annotator, answers=every_answer)
    a, b = assignment.display_order
    assert annotation.prompt_flags == ["unclear"]
    assert annotation.prompt_flags_no == ["personal_data"]
    stored = {j.candidate_id: (j.flags, j.flags_no) for j in Judgement.objects.all()}
    assert stored == {
        a: (["hallucination"], ["rude"]),
        b: ([], ["hallucination", "rude"]),
    }


def test_a_yes_no_submit_without_every_answer_names_output_and_flag(yes_no, annotator):
    def partly(order):
        a, b = order
        return {"flags": {a: ["hallucination"]}, "flags_no": {b: ["rude"]}}

    assert refused(yes_no, annotator, partly) == {
        "flags": "Output A: answer Yes or No for 'Rude'. "
        "Output B: answer Yes or No for 'Hallucination'.",
        "prompt_flags": "Prompt: answer Yes or No for 'Unclear', 'Personal data'.",
    }


def test_an_answer_both_yes_and_no_is_refused(yes_no, annotator):
    def both(order):
        answers = every_answer(order)
        answers["prompt_flags_no"] = ["personal_data", "unclear"]
        return answers

    assert refused(yes_no, annotator, both) == {
        "prompt_flags_no": "Prompt: unclear answered Yes and No."
    }


def test_unknown_keys_are_refused_by_field(yes_no, annotator):
    def unknown(order):
        answers = every_answer(order)
        answers["flags_no"][order[1]].append("boring")
        answers["prompt_flags"].append("spam")
        return answers

    assert refused(yes_no, annotator, unknown) == {
        "flags_no": "Output B: unknown flag(s) boring; this project's flags are "
        "hallucination, rude.",
        "prompt_flags": "Prompt: unknown flag(s) spam; this project's prompt flags are "
        "personal_data, unclear.",
    }


def test_a_ticking_project_stores_ticks_and_refuses_no_answers(ticking, annotator):
    def no_answers(order):
        return {"flags_no": {order[0]: ["rude"]}}

    assert refused(ticking, annotator, no_answers) == {
        "flags_no": "Output A: this project asks to tick the flags that apply, "
        "not to answer No."
    }
    Annotation.objects.all().delete()

    def ticks(order):
        return {"flags": {order[1]: ["rude"]}, "prompt_flags": ["personal_data"]}

    _, annotation = submit(ticking, annotator, answers=ticks)
    assert annotation.prompt_flags == ["personal_data"]
    assert annotation.prompt_flags_no == []
    assert sorted(Judgement.objects.values_list("flags", "flags_no")) == [
        ([], []),
        (["rude"], []),
    ]


def test_a_draft_keeps_partial_answers_and_refuses_unknown_keys(yes_no, annotator):
    assignment = assignment_next(project=yes_no, annotator=annotator)
    a, b = assignment.display_order
    save = {
        "assignment_id": assignment.pk,
        "annotator": annotator,
        "page_id": uuid.uuid4(),
        "base_revision": 0,
    }
    assignment_draft_save(
        draft=Draft(
            buckets=[],
            likert={},
            flags_no={b: ["rude"]},
            prompt_flags=["unclear"],
        ),
        **save,
    )
    assignment.refresh_from_db()
    assert assignment.draft["flags_no"] == {str(b): ["rude"]}
    assert assignment.draft["prompt_flags"] == ["unclear"]
    assert assignment.draft["prompt_flags_no"] == []
    with pytest.raises(SubmissionError) as refusal:
        assignment_draft_save(
            draft=Draft(buckets=[], likert={}, prompt_flags_no=["spam"]),
            **{**save, "base_revision": 1},
        )
    assert refusal.value.errors == {
        "prompt_flags_no": "Prompt: unknown flag(s) spam; this project's prompt "
        "flags are personal_data, unclear."
    }


def test_removing_a_prompt_flag_in_use_is_refused_with_the_count(yes_no, annotator):
    submit(yes_no, annotator, answers=every_answer)
    yes_no.prompt_flags = [PROMPT_FLAGS[1]]  # drops "unclear", ticked once
    with pytest.raises(ValidationError) as refusal:
        yes_no.full_clean()
    assert refusal.value.message_dict == {
        "prompt_flags": [
            "Flag 'unclear' is ticked in 1 annotation of this project, so it cannot "
            "be removed or renamed; keep its key and change its label or "
            "description instead."
        ]
    }
    yes_no.prompt_flags = [PROMPT_FLAGS[0]]  # "personal_data" was only answered No
    yes_no.full_clean()


def test_exports_say_no_only_where_it_was_answered(
    yes_no, ticking, annotator, tmp_path
):
    assignment, annotation = submit(yes_no, annotator, answers=every_answer)
    a, b = assignment.display_order
    ratings = {
        r["candidate_id"]: r
        for r in export_records(project=yes_no, options=ExportOptions("ratings"))
    }
    assert (ratings[a]["flags"], ratings[a]["flags_no"]) == (
        ["hallucination"],
        ["rude"],
    )
    assert (ratings[b]["flags"], ratings[b]["flags_no"]) == (
        [],
        ["hallucination", "rude"],
    )
    assert ratings[a]["prompt_flags"] == ["unclear"]
    assert ratings[a]["prompt_flags_no"] == ["personal_data"]

    [ranking] = export_records(project=yes_no, options=ExportOptions("rankings"))
    assert ranking["flags"] == [["hallucination"], []]
    assert ranking["flags_no"] == [["rude"], ["hallucination", "rude"]]
    assert ranking["prompt_flags"] == ["unclear"]

    [raw] = export_records(project=yes_no, options=ExportOptions("raw"))
    assert raw["prompt_flags_no"] == ["personal_data"]
    assert [(o["letter"], o["flags"], o["flags_no"]) for o in raw["outputs"]] == [
        ("A", ["hallucination"], ["rude"]),
        ("B", [], ["hallucination", "rude"]),
    ]

    # A ticking project asked nothing, so its exports hold no "no" answer.
    submit(ticking, annotator, answers=lambda order: {"flags": {order[0]: ["rude"]}})
    ticked = export_records(project=ticking, options=ExportOptions("ratings"))
    assert [(r["flags"], r["flags_no"]) for r in ticked] == [(["rude"], []), ([], [])]

    yes_no.flags = [FLAGS[0], {**FLAGS[1], "label": "Rude | mean"}]
    yes_no.save()
    out = tmp_path / "ratings.parquet"
    export_to_path(project=yes_no, options=ExportOptions("ratings"), out=out)
    table = pq.read_table(out).to_pylist()
    assert [(r["flags_no"], r["prompt_flags"]) for r in table] == [
        (["rude"], ["unclear"]),
        (["hallucination", "rude"], ["unclear"]),
    ]
    card = out.with_name("ratings.README.md").read_text()
    assert "Annotators answer Yes or No for every flag." in card
    assert "| `unclear` | Unclear | Could mean two things. |" in card
    assert "| `rude` | Rude \\| mean |  |" in card  # a "|" kept inside its cell
    assert "| `prompt_flags_no` | `list<item: string>` |" in card
    assert "a key in neither list was not\n  asked" in card


def test_consensus_folds_answers_no_only_where_nobody_ticked(
    yes_no, annotator, other_annotator
):
    from annotate.services import membership_set

    membership_set(project=yes_no, user=other_annotator, role="annotator")
    yes_no.annotations_per_prompt = 2
    yes_no.save()
    first = Prompt.objects.filter(project=yes_no).first()
    Prompt.objects.filter(project=yes_no).exclude(pk=first.pk).delete()
    assignment, _ = submit(yes_no, annotator, answers=every_answer)
    x, y = assignment.display_order  # the first judge's A and B

    def other_answers(order):
        return {
            "flags": {y: ["rude"]},
            "flags_no": {x: ["hallucination", "rude"], y: ["hallucination"]},
            "prompt_flags": ["personal_data"],
            "prompt_flags_no": ["unclear"],
        }

    # The project's one prompt, judged twice.
    submit(yes_no, other_annotator, answers=other_answers)
    options = ExportOptions("rankings", aggregate="majority")
    [folded] = export_records(project=yes_no, options=options)
    assert folded["prompt_flags"] == ["personal_data", "unclear"]
    assert folded["prompt_flags_no"] == []
    answers = zip(folded["flags"], folded["flags_no"], strict=True)
    assert dict(zip(folded["candidate_ids"], answers, strict=True)) == {
        x: (["hallucination"], ["rude"]),  # ticked by one: yes
        y: (["rude"], ["hallucination"]),  # answered No by both
    }


def test_prompts_are_stored_as_markdown_html(yes_no):
    text = Prompt.objects.create(project=yes_no, text="Say **hi**\nto *me*")
    # A single line break stays one, in prompts as in outputs.
    assert text.html == "<p>Say <strong>hi</strong><br>\nto <em>me</em></p>\n"
    chat = Prompt.objects.create(
        project=yes_no,
        messages=[
            {"role": "system", "content": "# Rules\nBe <b>brief</b>."},
            {"role": "user", "content": "| a | b |\n|---|---|\n| 1 | 2 |"},
        ],
    )
    assert chat.html.startswith('<ol class="chat"><li class="turn turn-system">')
    assert '<span class="role">System</span>' in chat.html
    assert "<h4>Rules</h4>" in chat.html  # headings demoted, as in outputs
    assert "&lt;b&gt;brief&lt;/b&gt;" in chat.html  # raw HTML shown as text
    assert "<td>1</td>" in chat.html


def test_the_migration_renders_prompts_and_outputs_saved_before(yes_no):
    Prompt.objects.filter(project=yes_no).update(html="")
    output = Candidate.objects.filter(prompt__project=yes_no).first()
    Candidate.objects.filter(pk=output.pk).update(text="one\ntwo", html="old")
    migration = importlib.import_module(
        "annotate.migrations.0012_prompt_flags_yes_no_prompt_html"
    )
    for operation in migration.Migration.operations[-2:]:
        operation.code(apps, None)
    assert list(
        Prompt.objects.filter(project=yes_no).values_list("html", flat=True)
    ) == [f"<p>Prompt {n} of tests</p>\n" for n in range(3)]
    output.refresh_from_db()
    assert output.html == "<p>one<br>\ntwo</p>\n"


def test_the_task_page_asks_each_flag_yes_or_no_with_its_help(
    client, yes_no, annotator
):
    client.force_login(annotator)
    page = client.get(reverse("annotate:label", args=[yes_no.slug]), follow=True)
    html = page.content.decode()
    assert page.context["task_config"]["yesNo"] is True
    assert html.count('<fieldset class="flag yes-no" data-flag="hallucination"') == 2
    assert html.count('<fieldset class="flag yes-no" data-flag="unclear"') == 1
    assert (
        '<input type="radio" name="flag-prompt-unclear" value="yes" '
        'aria-label="Yes, Unclear"> Yes</label>'
    ) in html
    assert (
        '<p class="flag-help" id="flag-help-prompt-unclear">Could mean two things.</p>'
    ) in html
    assert '<div class="prompt-text"><p>Prompt 0 of tests</p>' in html


def test_the_admin_edits_the_prompt_checklist_and_the_answer_mode(client, lead, yes_no):
    lead.is_staff = True
    lead.save()
    client.force_login(lead)
    url = reverse("admin:annotate_project_change", args=[yes_no.pk])
    page = client.get(url)
    html = page.content.decode()
    assert "unclear | Unclear | Could mean two things." in html
    assert "Answer Yes or No for every flag" in html
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
    data |= {"prompt_flags": "spam | Spam | Advertises.", "flag_answers": "tick"}
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    yes_no.refresh_from_db()
    assert yes_no.prompt_flags == [
        {"key": "spam", "label": "Spam", "description": "Advertises."}
    ]
    assert yes_no.flag_answers == "tick"
