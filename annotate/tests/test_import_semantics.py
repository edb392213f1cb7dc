"""What imports keep: who judged (an export's pseudonymous annotator), UltraFeedback's
aspect annotations in either public form, and TRL's margin and weight columns."""

import json
import uuid
from pathlib import Path

import pytest

from annotate.exporting import ExportOptions, export_to_path
from annotate.importing.service import ImportRejected, import_file
from annotate.models import Annotation, Project, content_hash
from annotate.services import Submission, annotation_submit, assignment_next

pytestmark = pytest.mark.django_db

PROMPTS = 4


def write_jsonl(path: Path, records) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


def rank_everything_alike(project, annotator) -> None:
    """The annotator ranks each of their tasks, outputs in creation order best first."""
    while (
        assignment := assignment_next(project=project, annotator=annotator)
    ) is not None:
        best_first = sorted(assignment.display_order)
        annotation_submit(
            assignment_id=assignment.pk,
            annotator=annotator,
            submission=Submission(
                client_id=uuid.uuid4(),
                buckets=[[cid] for cid in best_first],
                likert={cid: 7 - i for i, cid in enumerate(best_first)},
            ),
        )


def imported(slug: str):
    return Annotation.objects.filter(assignment__prompt__project__slug=slug)


def test_reimporting_an_export_keeps_two_annotators_identical_rankings_apart(
    make_project, annotator, other_annotator, tmp_path
):
    project = make_project(
        k=3,
        n_prompts=PROMPTS,
        members=[annotator, other_annotator],
        annotations_per_prompt=2,
    )
    rank_everything_alike(project, annotator)
    rank_everything_alike(project, other_annotator)
    assert Annotation.objects.count() == 2 * PROMPTS
    export = tmp_path / "rankings.jsonl"
    export_to_path(project=project, options=ExportOptions("rankings"), out=export)
    rows = [json.loads(line) for line in export.read_text().splitlines()]
    assert len({row["annotator"] for row in rows}) == 2  # pseudonyms, not names

    report = import_file(path=export, project_slug="again")
    assert (report.added["annotations"], report.duplicates["annotations"]) == (
        2 * PROMPTS,
        0,
    )
    assert imported("again").count() == 2 * PROMPTS
    pseudonyms = set(imported("again").values_list("import_annotator", flat=True))
    assert pseudonyms == {row["annotator"] for row in rows}
    assert sum(import_file(path=export, project_slug="again").added.values()) == 0


def test_rows_naming_no_annotator_are_still_one_judgement_per_content(tmp_path):
    row = {"prompt": "Q", "chosen": "y", "rejected": "n"}
    path = write_jsonl(
        tmp_path / "pairs.jsonl",
        [row, row, {**row, "annotator": "a1"}, {**row, "annotator": "a2"}],
    )
    report = import_file(path=path, project_slug="imp")
    assert (report.added["annotations"], report.duplicates["annotations"]) == (3, 1)
    assert sorted(imported("imp").values_list("import_annotator", flat=True)) == [
        "",
        "a1",
        "a2",
    ]


def test_a_row_naming_no_annotator_keeps_the_key_imports_always_gave_it(tmp_path):
    # So re-importing a file imported before annotators were kept adds nothing.
    path = write_jsonl(
        tmp_path / "pairs.jsonl", [{"prompt": "Q", "chosen": "y", "rejected": "n"}]
    )
    import_file(path=path, project_slug="imp")
    annotation = imported("imp").get()
    project = Project.objects.get(slug="imp")
    prompt = annotation.assignment.prompt
    judged = sorted(
        (j.candidate.content_hash, j.rank, j.likert)
        for j in annotation.judgements.all()
    )
    legacy = uuid.UUID(
        content_hash("import", project.pk, prompt.content_hash, judged)[:32]
    )
    assert annotation.client_id == legacy


def ultrafeedback(aspect_form) -> dict:
    def completion(model, response, rating):
        aspects = ["helpfulness", "honesty", "instruction_following", "truthfulness"]
        return {
            "model": model,
            "response": response,
            "annotations": {
                aspect: aspect_form({"Rating": rating, "Rationale": "…"})
                for aspect in aspects
            },
        }

    return {
        "instruction": "Explain rainbows.",
        "completions": [
            completion("m-low", "Magic.", "2"),
            completion("m-top", "Refraction.", "5"),
        ],
    }


@pytest.mark.parametrize(
    "aspect_form", [lambda a: a, lambda a: [a]], ids=["object", "list of one"]
)
def test_ultrafeedback_aspect_annotations_as_an_object_or_a_list_of_one(
    tmp_path, aspect_form
):
    path = write_jsonl(tmp_path / "uf.jsonl", [ultrafeedback(aspect_form)])
    assert import_file(path=path, project_slug="imp").format == "ultrafeedback"
    ranks = {
        j.candidate.text: (j.rank, j.likert)
        for j in imported("imp").get().judgements.all()
    }
    # Ratings 5 and 2 of 1–5 are 7 and 2.5 → 3 on the Likert scale.
    assert ranks == {"Refraction.": (1, 7), "Magic.": (2, 3)}


def test_an_ultrafeedback_aspect_list_of_two_is_refused_by_field(tmp_path):
    record = ultrafeedback(lambda a: [a, a])
    path = write_jsonl(tmp_path / "uf.jsonl", [record])
    with pytest.raises(ImportRejected) as excinfo:
        import_file(path=path, project_slug="imp")
    assert [str(e) for e in excinfo.value.errors] == [
        "row 1: field 'completions[0].annotations.helpfulness' is a list of 2; "
        'expected one annotation {"Rating": …}, or a list of one'
    ]


def test_trl_margin_and_weight_are_kept_with_the_judgement(tmp_path):
    path = write_jsonl(
        tmp_path / "pairs.jsonl",
        [
            {"prompt": "Q1", "chosen": "y", "rejected": "n", "margin": 2.5},
            {"prompt": "Q2", "chosen": "y", "rejected": "n", "weight": 0.25},
            {"prompt": "Q3", "chosen": "y", "rejected": "n"},
        ],
    )
    import_file(path=path, project_slug="imp")
    kept = imported("imp").order_by("id").values_list("import_margin", "import_weight")
    assert list(kept) == [(2.5, None), (None, 0.25), (None, None)]
    # The comparison stays the ranking's own pair: weight 1/#pairs, rank gap 1.
    pair = imported("imp").first().comparisons.get()
    assert (pair.weight, pair.rank_gap) == (1.0, 1)


def test_rankings_weight_is_kept(tmp_path):
    path = write_jsonl(
        tmp_path / "ranked.jsonl",
        [
            {
                "prompt": "Q",
                "completions": ["a", "b", "c"],
                "ranks": [1, 2, 3],
                "weight": 3,
            }
        ],
    )
    import_file(path=path, project_slug="imp")
    assert imported("imp").get().import_weight == 3.0


def test_a_candidate_model_name_too_long_to_store_is_refused_by_field(tmp_path):
    record = {"prompt": "Q", "completions": [{"text": "a", "model": "m" * 201}]}
    path = write_jsonl(tmp_path / "candidates.jsonl", [record])
    with pytest.raises(ImportRejected) as excinfo:
        import_file(path=path, project_slug="imp")
    assert [str(e) for e in excinfo.value.errors] == [
        "row 1: field 'completions[0].model' has 201 characters; expected a model "
        "name of at most 200"
    ]


def test_outputs_to_rank_carry_no_judgement_so_no_annotator_is_read(tmp_path):
    path = write_jsonl(
        tmp_path / "candidates.jsonl",
        [{"prompt": "Q", "completions": ["a", "b"], "annotator": {"not": "read"}}],
    )
    report = import_file(path=path, project_slug="imp", format="candidates")
    assert (report.added["candidates"], report.added["annotations"]) == (2, 0)


def test_a_rankings_export_comes_back_with_its_ratings_and_flags(
    make_project, annotator, tmp_path
):
    project = make_project(k=3, n_prompts=1, members=[annotator])
    assignment = assignment_next(project=project, annotator=annotator)
    best, middle, worst = sorted(assignment.display_order)
    annotation_submit(
        assignment_id=assignment.pk,
        annotator=annotator,
        submission=Submission(
            client_id=uuid.uuid4(),
            buckets=[[best], [middle], [worst]],
            likert={best: 6, middle: 4, worst: 2},
            flags={worst: ["hallucination", "harmful_advice"]},
            prompt_flags=["unclear"],
        ),
    )
    export = tmp_path / "rankings.jsonl"
    export_to_path(project=project, options=ExportOptions("rankings"), out=export)

    # A new project of the same checklists (the defaults) takes it back whole.
    report = import_file(path=export, project_slug="copy")
    assert report.added["annotations"] == 1
    copy = imported("copy").get()
    assert copy.prompt_flags == ["unclear"]
    by_text = {j.candidate.text: j for j in copy.judgements.select_related("candidate")}
    texts = dict(project.prompts.get().candidates.values_list("id", "text"))
    assert {by_text[texts[c]].likert for c in (best, middle, worst)} == {6, 4, 2}
    assert by_text[texts[best]].likert == 6
    assert sorted(by_text[texts[worst]].flags) == ["hallucination", "harmful_advice"]
    assert by_text[texts[best]].flags == []
    assert sum(import_file(path=export, project_slug="copy").added.values()) == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"flags": [["rude"], [], []]},
            "row 1: field 'flags[0]' has 'rude', not in this project's checklist",
        ),
        (
            {"prompt_flags": ["off_topic"]},
            "row 1: field 'prompt_flags' has 'off_topic', not in this project's",
        ),
        ({"likert": [9, 4, 2]}, "row 1: field 'likert[0]' is 9; expected a rating"),
        (
            {"likert": [6, 4]},
            "row 1: field 'likert' is a list of 2; expected one value per completion",
        ),
    ],
)
def test_unknown_flags_and_bad_ratings_refuse_the_row(tmp_path, change, message):
    row = {
        "prompt": "Name a prime.",
        "completions": ["Seven.", "Nine.", "Four."],
        "ranks": [1, 2, 3],
        **change,
    }
    path = write_jsonl(tmp_path / "rankings.jsonl", [row])
    with pytest.raises(ImportRejected) as rejected:
        import_file(path=path, project_slug="strict")
    assert str(rejected.value.errors[0]).startswith(message)
    assert not imported("strict").exists()
