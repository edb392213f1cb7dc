"""Import of every format from small files written here, bad rows, re-imports, and the
command that runs the same service (uploads as jobs: test_import_jobs.py)."""

import csv
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from annotate.importing.formats import UNRATED_LIKERT
from annotate.importing.service import ImportRejected, import_file, import_records
from annotate.models import (
    LIKERT_MAX,
    LIKERT_MIN,
    Annotation,
    Candidate,
    Comparison,
    Project,
    Prompt,
)
from annotate.services import assignment_next

pytestmark = pytest.mark.django_db

USER = {"role": "user", "content": "Name a colour."}
HH_CHOSEN = (
    "\n\nHuman: Hi there\n\nAssistant: Hello! How can I help?"
    "\n\nHuman: Tell me a joke\n\nAssistant: Why did the chicken cross the road?"
)
HH_REJECTED = HH_CHOSEN.rsplit("\n\nAssistant:", 1)[0] + "\n\nAssistant: No."
# NUL, lost bytes (U+FFFD), a bell, a lone surrogate and a Windows line end: what
# the embedded model writes and what PostgreSQL refuses, and how it is stored.
HOSTILE = "Hi\x00 there\ufffd,\x07 friend\ud800\r\n"
CLEANED = "Hi there, friend\n"


def write_jsonl(path: Path, records) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


def write_csv(path: Path, header, rows) -> Path:
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def imported_annotations(slug="imp"):
    return Annotation.objects.filter(assignment__prompt__project__slug=slug)


def ranks_of(annotation):
    return {j.candidate.text: (j.rank, j.likert) for j in annotation.judgements.all()}


def rejected_rows(excinfo) -> dict[int | None, str]:
    return {error.row: error.message for error in excinfo.value.errors}


def test_prompts_as_text_and_messages_create_the_project(tmp_path):
    path = write_jsonl(
        tmp_path / "prompts.jsonl",
        [{"prompt": "Write a haiku."}, {"messages": [USER]}, {"prompt": [USER]}],
    )
    report = import_file(path=path, project_slug="imp")
    project = Project.objects.get(slug="imp")
    assert report.format == "prompts"
    assert (report.added["prompts"], report.duplicates["prompts"]) == (2, 1)
    assert [(p.text, p.messages) for p in project.prompts.all()] == [
        ("Write a haiku.", []),
        ("", [USER]),
    ]


def test_prompts_from_csv_parquet_and_datasets_folder(tmp_path):
    import datasets

    csv_path = write_csv(
        tmp_path / "p.csv",
        ["prompt", "messages"],
        [["Line one,\nline two", ""], ["", json.dumps([USER])]],
    )
    parquet_path = tmp_path / "p.parquet"
    pq.write_table(pa.Table.from_pylist([{"prompt": "From Parquet"}]), parquet_path)
    folder = tmp_path / "p_dataset"
    datasets.Dataset.from_list([{"prompt": "From datasets"}]).save_to_disk(folder)
    for path in (csv_path, parquet_path, folder):
        import_file(path=path, project_slug="imp")
    texts = list(Prompt.objects.values_list("text", flat=True))
    assert texts == ["Line one,\nline two", "", "From Parquet", "From datasets"]
    assert Prompt.objects.get(text="").messages == [USER]


def test_candidates_are_handed_to_annotators(tmp_path, make_project, annotator):
    project = make_project(n_prompts=0, slug="imp", members=[annotator])
    path = write_jsonl(
        tmp_path / "candidates.jsonl",
        [
            {
                "prompt": "Summarise the memo.",
                "completions": [
                    {"text": "Short.", "model": "policy-v1"},
                    {"text": "Longer summary.", "model": "policy-v2"},
                    "Plain string output.",
                ],
            }
        ],
    )
    report = import_file(path=path, project_slug="imp")
    assert report.added["candidates"] == 3 and not imported_annotations().exists()
    sources = set(Candidate.objects.values_list("source", flat=True))
    assert sources == {"policy-v1", "policy-v2", "import:candidates"}
    assignment = assignment_next(project=project, annotator=annotator)
    assert assignment is not None and len(assignment.display_order) == 3


def test_trl_pairs_become_an_imported_ranking_with_its_comparison(tmp_path):
    path = write_jsonl(
        tmp_path / "pairs.jsonl",
        [
            {"prompt": "2+2?", "chosen": " 4", "rejected": " 5", "margin": 1.0},
            {"prompt": "2+2?", "chosen": " 4", "rejected": " 22"},
            {
                "prompt": [USER],
                "chosen": [{"role": "assistant", "content": "Blue."}],
                "rejected": [{"role": "assistant", "content": "Seven."}],
            },
        ],
    )
    report = import_file(path=path, project_slug="imp")
    assert report.format == "trl"
    assert (report.added["prompts"], report.added["candidates"]) == (2, 5)
    first, second, chat = imported_annotations()
    assert first.source == Annotation.Source.IMPORTED
    assert first.import_source == "trl · pairs.jsonl row 1"
    assert first.assignment.annotator is None
    assert first.assignment.prompt == second.assignment.prompt
    assert ranks_of(first) == {" 4": (1, UNRATED_LIKERT), " 5": (2, UNRATED_LIKERT)}
    assert ranks_of(chat) == {
        "Blue.": (1, UNRATED_LIKERT),
        "Seven.": (2, UNRATED_LIKERT),
    }
    pair = Comparison.objects.get(annotation=first)
    assert (pair.chosen.text, pair.rejected.text, pair.weight) == (" 4", " 5", 1.0)
    assert (pair.rank_gap, pair.likert_gap) == (1, 0)


def test_trl_pairs_without_a_prompt_are_split_at_their_shared_turns(tmp_path):
    say = [{"role": "user", "content": "Hi"}]
    path = write_jsonl(
        tmp_path / "implicit.jsonl",
        [
            {
                "chosen": [*say, {"role": "assistant", "content": "Hello."}],
                "rejected": [*say, {"role": "assistant", "content": "Bye."}],
            }
        ],
    )
    assert import_file(path=path, project_slug="imp").format == "trl"
    (annotation,) = imported_annotations()
    assert annotation.assignment.prompt.messages == say
    assert {text: rank for text, (rank, _) in ranks_of(annotation).items()} == {
        "Hello.": 1,
        "Bye.": 2,
    }


def test_unpaired_labels_are_rated_at_the_ends_of_the_scale(tmp_path):
    path = write_csv(
        tmp_path / "kto.csv",
        ["prompt", "completion", "label"],
        [["Say hi.", "Hi!", "true"], ["Say hi.", "Go away.", "False"]],
    )
    report = import_file(path=path, project_slug="imp")
    assert report.format == "trl-unpaired"
    good, bad = imported_annotations()
    assert ranks_of(good) == {"Hi!": (1, LIKERT_MAX)}
    assert ranks_of(bad) == {"Go away.": (1, LIKERT_MIN)}
    assert report.added["comparisons"] == 0


def test_hh_rlhf_shared_turns_become_the_chat_prompt(tmp_path):
    path = write_jsonl(
        tmp_path / "hh.jsonl", [{"chosen": HH_CHOSEN, "rejected": HH_REJECTED}]
    )
    assert import_file(path=path, project_slug="imp").format == "hh-rlhf"
    (annotation,) = imported_annotations()
    assert annotation.assignment.prompt.messages == [
        {"role": "user", "content": "Hi there"},
        {"role": "assistant", "content": "Hello! How can I help?"},
        {"role": "user", "content": "Tell me a joke"},
    ]
    chosen_rank, _ = ranks_of(annotation)["Why did the chicken cross the road?"]
    assert (chosen_rank, ranks_of(annotation)["No."][0]) == (1, 2)


def ultrafeedback_completion(model, response, *ratings):
    aspects = ["helpfulness", "honesty", "instruction_following", "truthfulness"]
    return {
        "model": model,
        "response": response,
        "annotations": {
            aspect: {"Rating": rating, "Rationale": "…"}
            for aspect, rating in zip(aspects, ratings, strict=True)
        },
    }


def test_ultrafeedback_ranks_by_mean_rating_and_maps_it_onto_likert(tmp_path):
    record = {
        "instruction": "Explain rainbows.",
        "completions": [
            ultrafeedback_completion("m-low", "Magic.", "1", "2", "1", "N/A"),
            ultrafeedback_completion("m-top", "Refraction.", "5", "5", "5", "5"),
            ultrafeedback_completion("m-mid", "Light bends.", "4", "3", "3", "4"),
            {"model": "m-crit", "response": "Water.", "overall_score": 5.5},
        ],
    }
    path = write_jsonl(tmp_path / "uf.jsonl", [record])
    report = import_file(path=path, project_slug="imp")
    assert report.format == "ultrafeedback"
    (annotation,) = imported_annotations()
    # Means 5, 3.5 and 4/3 of 5 → 7, 4.75, 1.5 on 1–7; overall 5.5 of 10 → 4.
    assert ranks_of(annotation) == {
        "Refraction.": (1, 7),
        "Light bends.": (2, 5),
        "Water.": (3, 4),
        "Magic.": (4, 2),
    }
    assert set(Candidate.objects.values_list("source", flat=True)) == {
        "m-low",
        "m-top",
        "m-mid",
        "m-crit",
    }
    assert report.added["comparisons"] == 6


def test_rankings_keep_ties_and_renumber_gaps(tmp_path, make_project):
    make_project(n_prompts=0, slug="imp", keep_ties=True)
    path = write_jsonl(
        tmp_path / "ranked.jsonl",
        [{"prompt": "Pick.", "completions": ["a", "b", "c"], "ranks": [1, 3, 3]}],
    )
    report = import_file(path=path, project_slug="imp")
    (annotation,) = imported_annotations()
    assert {text: rank for text, (rank, _) in ranks_of(annotation).items()} == {
        "a": 1,
        "b": 2,
        "c": 2,
    }
    assert report.added["comparisons"] == 3
    assert Comparison.objects.filter(is_tie=True).count() == 1


def test_reimport_adds_nothing_and_a_repeated_row_counts_once(tmp_path):
    row = {"prompt": "Q", "chosen": "yes", "rejected": "no"}
    path = write_jsonl(tmp_path / "pairs.jsonl", [row, row])
    first = import_file(path=path, project_slug="imp")
    again = import_file(path=path, project_slug="imp")
    assert (first.added["annotations"], first.duplicates["annotations"]) == (1, 1)
    assert sum(again.added.values()) == 0
    assert again.duplicates == {"prompts": 2, "candidates": 4, "annotations": 2}
    assert (Annotation.objects.count(), Comparison.objects.count()) == (1, 1)


@pytest.mark.postgres
def test_text_is_stored_cleaned_and_importing_it_again_adds_nothing(tmp_path):
    row = {"prompt": "Greet\x00 me", "chosen": HOSTILE, "rejected": "Go\x1b away\ufffd"}
    path = write_jsonl(tmp_path / "pairs.jsonl", [row])
    assert "\\u0000" in path.read_text()  # escaped, as JSON writers write it
    report = import_file(path=path, project_slug="imp")
    assert report.added == {
        "prompts": 1,
        "candidates": 2,
        "annotations": 1,
        "comparisons": 1,
    }
    assert Prompt.objects.get().text == "Greet me"
    assert ranks_of(imported_annotations().get()) == {
        CLEANED: (1, UNRATED_LIKERT),
        "Go away": (2, UNRATED_LIKERT),
    }
    assert sum(import_file(path=path, project_slug="imp").added.values()) == 0
    cleaned = {"prompt": "Greet me", "chosen": CLEANED, "rejected": "Go away"}
    same = import_file(
        path=write_jsonl(tmp_path / "clean.jsonl", [cleaned]), project_slug="imp"
    )
    assert sum(same.added.values()) == 0
    assert same.duplicates == {"prompts": 1, "candidates": 2, "annotations": 1}


@pytest.mark.postgres
def test_outputs_and_prompts_with_nothing_readable_are_refused_by_row(tmp_path):
    path = write_jsonl(
        tmp_path / "candidates.jsonl",
        [
            {"prompt": "Q1", "completions": ["fine", {"text": HOSTILE}]},
            {"prompt": "Q2", "completions": ["fine", "\x00\ufffd \u200b\r\n"]},
            {"prompt": "Q3", "completions": [{"text": "\ud800\x07", "model": "m"}]},
            {"prompt": "\u200b\x00", "completions": ["fine"]},
            {"prompt": "Q5", "completions": ["same\x00", "same\ufffd"]},
        ],
    )
    with pytest.raises(ImportRejected) as excinfo:
        import_file(path=path, project_slug="imp")
    nothing_readable = (
        "has nothing readable: it is empty, or only whitespace, control or "
        "invisible characters"
    )
    assert rejected_rows(excinfo) == {
        2: f"field 'completions[1]' {nothing_readable}; expected the output",
        3: f"field 'completions[0].text' {nothing_readable}; expected the output",
        4: f"field 'prompt' {nothing_readable}; expected the prompt",
        5: "field 'completions[1]' repeats 'completions[0]'; expected distinct outputs",
    }
    assert not Project.objects.filter(slug="imp").exists()
    assert not Prompt.objects.exists() and not Candidate.objects.exists()


def test_the_same_file_imports_into_each_project(tmp_path):
    path = write_jsonl(
        tmp_path / "pairs.jsonl", [{"prompt": "Q", "chosen": "y", "rejected": "n"}]
    )
    import_file(path=path, project_slug="one")
    report = import_file(path=path, project_slug="two")
    assert report.added["annotations"] == 1
    assert imported_annotations("one").count() == imported_annotations("two").count()


def test_bad_rows_are_all_reported_by_line_and_field_and_nothing_is_written(tmp_path):
    path = tmp_path / "pairs.jsonl"
    path.write_text(
        json.dumps({"prompt": "ok", "chosen": "a", "rejected": "b"})
        + "\n\n"  # a blank line still counts, so line numbers match an editor's
        + json.dumps({"prompt": "no rejected", "chosen": "a"})
        + "\n"
        + json.dumps({"prompt": "Q", "chosen": 3, "rejected": "b"})
        + "\n"
        + json.dumps({"prompt": "Q", "chosen": "same", "rejected": "same"})
        + "\n"
    )
    with pytest.raises(ImportRejected) as excinfo:
        import_file(path=path, project_slug="imp")
    rows = rejected_rows(excinfo)
    assert sorted(rows) == [3, 4, 5]
    assert "missing field 'rejected'" in rows[3]
    assert "field 'chosen' is int" in rows[4]
    assert "field 'rejected' repeats 'chosen'" in rows[5]
    assert not Project.objects.filter(slug="imp").exists()
    assert not Prompt.objects.exists()


@pytest.mark.parametrize(
    ("fmt", "record", "expected"),
    [
        (
            "hh-rlhf",
            {"chosen": "Human: hi", "rejected": "\n\nHuman: hi\n\nAssistant: yo"},
            "field 'chosen' does not start with a \"\\n\\nHuman:\" turn",
        ),
        (
            "hh-rlhf",
            {"chosen": HH_CHOSEN + "\n\nHuman: more?", "rejected": HH_REJECTED},
            "field 'chosen' goes on for 2 turns",
        ),
        (
            "ultrafeedback",
            {
                "instruction": "Q",
                "completions": [
                    {"model": "m", "response": "a", "overall_score": 11},
                    {"model": "m", "response": "b", "overall_score": 3},
                ],
            },
            "field 'completions[0].overall_score' scores 11; expected 1 to 10",
        ),
        (
            "ultrafeedback",
            {
                "instruction": "Q",
                "completions": [
                    ultrafeedback_completion("m", "a", "5", "4", "x", "3"),
                    {"model": "m", "response": "b"},
                ],
            },
            "field 'completions[0].annotations.instruction_following.Rating' is 'x'",
        ),
        (
            "rankings",
            {"prompt": "Q", "completions": ["a", "b"], "ranks": [1]},
            "field 'ranks' has 1 values but 'completions' has 2",
        ),
        (
            "candidates",
            {"prompt": "Q", "completions": [{"model": "m"}]},
            "field 'completions[0]' is a dict; expected a string or an object",
        ),
        (
            "trl",
            {
                "prompt": [USER],
                "chosen": [
                    {"role": "assistant", "content": "a"},
                    {"role": "user", "content": "b"},
                ],
                "rejected": [{"role": "assistant", "content": "c"}],
            },
            "field 'chosen' has 2 messages; expected one assistant reply",
        ),
        (
            "prompts",
            {"prompt": "Q", "messages": [USER]},
            "fields 'prompt' and 'messages' both given",
        ),
    ],
)
def test_malformed_rows_of_each_format_name_the_field(tmp_path, fmt, record, expected):
    path = write_jsonl(tmp_path / "bad.jsonl", [record])
    with pytest.raises(ImportRejected) as excinfo:
        import_file(path=path, project_slug="imp", format=fmt)
    assert expected in rejected_rows(excinfo)[1]
    assert not Prompt.objects.exists()


def test_unreadable_files_and_unknown_shapes_are_refused(tmp_path):
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"prompt": "ok"}\n{"prompt": \n')
    with pytest.raises(ImportRejected, match=r"row 2: is not valid JSON"):
        import_file(path=broken, project_slug="imp", source_name="broken.jsonl")
    odd = write_jsonl(tmp_path / "odd.jsonl", [{"question": "?"}])
    with pytest.raises(ImportRejected, match=r"row 1: cannot tell the format"):
        import_file(path=odd, project_slug="imp")
    with pytest.raises(ImportRejected, match=r"x.txt: no such file or folder"):
        import_file(path=tmp_path / "x.txt", project_slug="imp")
    (tmp_path / "x.txt").write_text("prompt\n")
    with pytest.raises(ImportRejected, match=r"unknown extension '.txt'"):
        import_file(path=tmp_path / "x.txt", project_slug="imp")
    assert not Project.objects.exists()


def test_bad_csv_cells_are_reported_with_their_line(tmp_path):
    path = write_csv(
        tmp_path / "ranked.csv",
        ["prompt", "completions", "ranks"],
        [["Q", '["a", "b"]', "[1, 2]"], ["Q2", '["a", "b"', "[1, 2]"]],
    )
    with pytest.raises(ImportRejected) as excinfo:
        import_file(path=path, project_slug="imp")
    rows = rejected_rows(excinfo)
    assert "field 'completions' is not valid JSON" in rows[3]


def test_in_memory_records_use_the_same_checks(make_project):
    project = make_project(n_prompts=0, slug="imp")
    with pytest.raises(ImportRejected) as excinfo:
        import_records(
            project=project,
            records=[{"prompt": "ok"}, {"prompt": ""}],
            source_name="api",
        )
    assert rejected_rows(excinfo) == {2: "field 'prompt' is empty; expected some text"}
    report = import_records(
        project=project, records=[{"prompt": "ok"}], source_name="api"
    )
    assert report.format == "prompts" and report.added["prompts"] == 1


def test_command_prints_counts_or_fails_with_the_rows(tmp_path, capsys):
    good = write_jsonl(
        tmp_path / "pairs.jsonl", [{"prompt": "Q", "chosen": "y", "rejected": "n"}]
    )
    call_command("import_data", str(good), "--project", "cli")
    out = capsys.readouterr().out
    assert "1 rows read as trl" in out and "annotations: 1 added" in out
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"prompt": "Q", "chosen": "y"}])
    with pytest.raises(CommandError, match=r"Nothing imported.\nrow 1: missing field"):
        call_command("import_data", str(bad), "--project", "cli2", "--format", "trl")
    assert not Project.objects.filter(slug="cli2").exists()


def test_admin_upload_needs_change_permission(client, django_user_model, make_project):
    project = make_project(n_prompts=0, slug="imp")
    staff = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
    client.force_login(staff)
    url = reverse("admin:annotate_project_import", args=[project.pk])
    assert client.get(url).status_code == 403
