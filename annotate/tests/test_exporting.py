"""Exports: formats, styles, filters, file types, the dataset card, command and page."""

import json
import uuid

import datasets
import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from rest_framework.test import APIClient

from annotate.exporting import (
    ExportError,
    ExportFormat,
    ExportOptions,
    MarginSource,
    Style,
    TiePolicy,
    export_records,
    export_to_path,
)
from annotate.exporting.schemas import schema_for
from annotate.importing.service import import_file
from annotate.models import Annotation, Project, Prompt
from annotate.services import (
    Submission,
    annotation_submit,
    assignment_next,
    assignment_skip,
    candidate_create,
    prompt_create,
)
from training.core.data import load_examples

pytestmark = pytest.mark.django_db


def judge(project, annotator, ranking, likert, flags=None, notes=""):
    """Submit the annotator's next task; outputs named by their text's first word."""
    assignment = assignment_next(project=project, annotator=annotator)
    by_name = {c.text.split()[0]: c.pk for c in assignment.prompt.candidates.all()}
    annotation, _ = annotation_submit(
        assignment_id=assignment.pk,
        annotator=annotator,
        submission=Submission(
            client_id=uuid.uuid4(),
            buckets=[[by_name[name] for name in bucket] for bucket in ranking],
            likert={by_name[name]: value for name, value in likert.items()},
            flags={by_name[n]: list(f) for n, f in (flags or {}).items()},
            notes=notes,
            time_spent_ms=1500,
            confirm_conflicts=True,
        ),
    )
    return annotation


@pytest.fixture
def project(make_project, annotator, other_annotator):
    """One prompt with outputs good/fine/bad, judged by two annotators."""
    project = make_project(
        k=3, n_prompts=0, slug="exp", members=[annotator, other_annotator]
    )
    project.annotations_per_prompt = 2
    project.save()
    prompt, _ = prompt_create(project=project, text="Name a colour.")
    for name in ("good", "fine", "bad"):
        candidate_create(prompt=prompt, text=f"{name} answer", source=f"model-{name}")
    return project


@pytest.fixture
def judged(project, annotator, other_annotator):
    """Both agree good > bad; they disagree on good vs fine; bad is flagged once."""
    first = judge(
        project,
        annotator,
        [["good"], ["fine"], ["bad"]],
        {"good": 7, "fine": 4, "bad": 2},
        flags={"bad": ["harmful_advice"]},
        notes="bad one is risky",
    )
    second = judge(
        project,
        other_annotator,
        [["fine"], ["good"], ["bad"]],
        {"good": 5, "fine": 6, "bad": 3},
    )
    return first, second


def texts(record, *fields):
    return tuple(record[field].split()[0] for field in fields)


def test_pairs_follow_trl_fields_with_weights_margins_and_ids(
    project, judged, annotator
):
    records = list(
        export_records(project=project, options=ExportOptions(format="pairs"))
    )
    assert len(records) == 6  # C(3,2) pairs from each of two rankings
    first = [r for r in records if r["annotation_id"] == judged[0].pk]
    assert [texts(r, "chosen", "rejected") for r in first] == [
        ("good", "fine"),
        ("good", "bad"),
        ("fine", "bad"),
    ]
    assert sum(r["weight"] for r in first) == pytest.approx(1.0)
    assert [r["rank_gap"] for r in first] == [1, 2, 1]
    assert "margin" not in first[0]  # TRL-reserved: only when asked for
    assert [r["likert_gap"] for r in first] == [3, 5, 2]
    assert first[0]["prompt"] == "Name a colour."
    assert first[0]["annotator"] != annotator.username
    assert len({r["annotator"] for r in records}) == 2
    assert {r["source"] for r in records} == {"human"}
    assert list(records[0]) == schema_for(ExportOptions("pairs")).names


def test_agreement_is_the_share_of_judges_ordering_a_pair_the_same_way(project, judged):
    records = list(
        export_records(project=project, options=ExportOptions(format="pairs"))
    )
    agreement = {texts(r, "chosen", "rejected"): r["agreement"] for r in records}
    assert agreement[("good", "bad")] == 1.0
    assert agreement[("good", "fine")] == agreement[("fine", "good")] == 0.5
    assert {r["judges"] for r in records} == {2}
    agreed = export_records(
        project=project, options=ExportOptions(format="pairs", min_agreement=0.75)
    )
    assert sorted(texts(r, "chosen", "rejected") for r in agreed) == [
        ("fine", "bad"),
        ("fine", "bad"),
        ("good", "bad"),
        ("good", "bad"),
    ]


def test_a_lone_judge_passes_min_agreement(project, annotator):
    judge(
        project,
        annotator,
        [["good"], ["fine"], ["bad"]],
        {"good": 7, "fine": 5, "bad": 1},
    )
    options = ExportOptions(format="rankings", min_agreement=1.0)
    [ranking] = export_records(project=project, options=options)
    assert ranking["agreement"] == 1.0 and ranking["judges"] == 1


def test_flagged_outputs_are_never_chosen_when_asked(project, annotator):
    judge(
        project,
        annotator,
        [["bad"], ["good"], ["fine"]],
        {"good": 6, "fine": 5, "bad": 7},
        flags={"bad": ["violent"]},
    )
    options = ExportOptions(format="pairs", exclude_flagged_chosen=True)
    pairs = [
        texts(r, "chosen", "rejected")
        for r in export_records(project=project, options=options)
    ]
    assert pairs == [("good", "fine")]


def test_tie_policies(project, annotator):
    judge(
        project,
        annotator,
        [["good", "fine"], ["bad"]],
        {"good": 6, "fine": 6, "bad": 1},
    )

    def pairs(ties):
        options = ExportOptions(format="pairs", ties=ties)
        return [
            (*texts(r, "chosen", "rejected"), r["tie"], r["weight"])
            for r in export_records(project=project, options=options)
        ]

    assert pairs(TiePolicy.DROP) == [
        ("good", "bad", False, 0.5),
        ("fine", "bad", False, 0.5),
    ]
    kept = pairs(TiePolicy.KEEP)
    assert len(kept) == 3 and sum(w for *_, w in kept) == pytest.approx(1.0)
    assert [tie for *_, tie, _ in kept].count(True) == 1
    split = pairs(TiePolicy.SPLIT)
    ties = [(c, r, w) for c, r, tie, w in split if tie]
    assert sorted(ties) == [("fine", "good", 1 / 6), ("good", "fine", 1 / 6)]
    assert sum(w for *_, w in split) == pytest.approx(1.0)


def test_unpaired_labels_come_from_ratings_and_flags(project, judged):
    options = ExportOptions(format="unpaired")
    labels = sorted(
        (r["annotation_id"], texts(r, "completion")[0], r["label"])
        for r in export_records(project=project, options=options)
    )
    first, second = judged
    # First: good 7 → true, fine 4 neutral (left out), bad flagged → false.
    # Second: fine 6 and good 5 → true, bad 3 → false.
    assert labels == [
        (first.pk, "bad", False),
        (first.pk, "good", True),
        (second.pk, "bad", False),
        (second.pk, "fine", True),
        (second.pk, "good", True),
    ]


def test_rankings_and_ratings_carry_ranks_likert_and_flags(project, judged):
    rankings = list(
        export_records(project=project, options=ExportOptions(format="rankings"))
    )
    first = rankings[0]
    assert [c.split()[0] for c in first["completions"]] == ["good", "fine", "bad"]
    assert first["ranks"] == [1, 2, 3]
    assert first["likert"] == [7, 4, 2]
    assert first["flags"] == [[], [], ["harmful_advice"]]
    assert first["models"] == ["model-good", "model-fine", "model-bad"]
    assert first["rounds"] == [None, None, None]
    assert first["agreement"] == pytest.approx((0.5 + 1 + 1) / 3)
    ratings = list(
        export_records(project=project, options=ExportOptions(format="ratings"))
    )
    assert len(ratings) == 6
    bad = next(r for r in ratings if r["completion"].startswith("bad"))
    assert (bad["likert"], bad["flags"], bad["rank"]) == (2, ["harmful_advice"], 3)


def test_raw_has_every_annotation_with_timings_order_and_notes(
    project, judged, make_project, annotator
):
    records = list(export_records(project=project, options=ExportOptions(format="raw")))
    first = next(r for r in records if r["annotation_id"] == judged[0].pk)
    assert first["notes"] == "bad one is risky"
    assert first["time_spent_ms"] == 1500
    assert first["completed_at"] and first["created_at"]
    assert [o["letter"] for o in first["outputs"]] == ["A", "B", "C"]
    assert [o["candidate_id"] for o in first["outputs"]] == first["display_order"]
    assert list(first) == schema_for(ExportOptions("raw")).names


def test_raw_includes_skips_and_other_formats_do_not(make_project, annotator):
    project = make_project(k=2, n_prompts=1, slug="skips", members=[annotator])
    assignment = assignment_next(project=project, annotator=annotator)
    assignment_skip(
        assignment_id=assignment.pk,
        annotator=annotator,
        client_id=uuid.uuid4(),
        reason="not in my language",
    )
    [raw] = export_records(project=project, options=ExportOptions(format="raw"))
    assert raw["skipped"] and raw["skip_reason"] == "not in my language"
    assert raw["outputs"] == []
    assert not list(export_records(project=project, options=ExportOptions("ratings")))


def test_conversational_style_and_chat_prompts_in_standard_style(
    make_project, annotator
):
    project = make_project(k=0, n_prompts=0, slug="chat", members=[annotator])
    prompt, _ = prompt_create(
        project=project,
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Name a prime."},
        ],
    )
    for name in ("seven", "nine"):
        candidate_create(prompt=prompt, text=f"{name} it is", source="m")
    judge(project, annotator, [["seven"], ["nine"]], {"seven": 6, "nine": 2})
    chat = ExportOptions(format="pairs", style=Style.CONVERSATIONAL)
    [pair] = export_records(project=project, options=chat)
    assert pair["prompt"] == prompt.messages
    assert pair["chosen"] == [{"role": "assistant", "content": "seven it is"}]
    [plain] = export_records(project=project, options=ExportOptions(format="pairs"))
    assert plain["prompt"] == (
        "\n\nSystem: Be brief.\n\nHuman: Name a prime.\n\nAssistant:"
    )
    assert plain["chosen"] == "seven it is"


def test_imported_judgements_export_unless_filtered(project, judged):
    Annotation.objects.filter(pk=judged[1].pk).update(source="imported")

    def sources(source):
        options = ExportOptions(format="rankings", source=source)
        return sorted(
            r["source"] for r in export_records(project=project, options=options)
        )

    assert sources("all") == ["human", "imported"]
    assert sources("human") == ["human"]
    assert sources("imported") == ["imported"]


def test_annotator_filter_and_unknown_annotators(project, judged, annotator, lead):
    options = ExportOptions(format="rankings", annotators=(annotator.username,))
    [ranking] = export_records(project=project, options=options)
    assert ranking["annotation_id"] == judged[0].pk
    with pytest.raises(ExportError, match=f"annotators: {lead.username} never"):
        export_records(
            project=project,
            options=ExportOptions(format="rankings", annotators=(lead.username,)),
        )


@pytest.mark.parametrize("suffix", ["jsonl", "parquet"])
@pytest.mark.parametrize(
    "export_format,kind",
    [("pairs", "pairs"), ("rankings", "rankings"), ("unpaired", "unpaired")],
)
@pytest.mark.parametrize("style", ["standard", "conversational"])
def test_files_read_back_by_the_trainer(
    project, judged, tmp_path, suffix, export_format, kind, style
):
    options = ExportOptions(format=export_format, style=style)
    out = tmp_path / f"{export_format}.{suffix}"
    report = export_to_path(project=project, options=options, out=out)
    expected = list(export_records(project=project, options=options))
    examples = load_examples(out, kind)
    assert len(examples) == len(expected) == report.stats.rows["all"] > 0
    assert [e.prompt for e in examples] == [r["prompt"] for r in expected]
    if suffix == "jsonl":
        lines = out.read_text(encoding="utf-8").splitlines()
        assert [json.loads(line) for line in lines] == expected
    else:
        assert pq.read_table(out).to_pylist() == expected
    assert report.card_path == tmp_path / f"{export_format}.README.md"


def test_datasets_folder_splits_by_prompt_with_a_card(
    make_project, annotator, other_annotator, tmp_path
):
    project = make_project(
        k=3, n_prompts=20, slug="many", members=[annotator, other_annotator]
    )
    project.annotations_per_prompt = 2
    project.save()
    for user in (annotator, other_annotator):
        while assignment := assignment_next(project=project, annotator=user):
            first, second, third = assignment.display_order
            annotation_submit(
                assignment_id=assignment.pk,
                annotator=user,
                submission=Submission(
                    client_id=uuid.uuid4(),
                    buckets=[[first], [second, third]],
                    likert={first: 6, second: 3, third: 3},
                ),
            )
    out = tmp_path / "prefs"
    options = ExportOptions(format="pairs", test_fraction=0.3, seed=1)
    report = export_to_path(project=project, options=options, out=out)
    loaded = datasets.load_from_disk(str(out))
    assert set(loaded) == {"train", "test"}
    train_prompts = set(loaded["train"]["prompt_id"])
    test_prompts = set(loaded["test"]["prompt_id"])
    assert train_prompts and test_prompts and not train_prompts & test_prompts
    assert len(train_prompts | test_prompts) == 20
    assert loaded["train"].num_rows + loaded["test"].num_rows == 80
    assert report.stats.rows == {
        "train": loaded["train"].num_rows,
        "test": loaded["test"].num_rows,
    }
    card = (out / "README.md").read_text()
    assert f"| train | {loaded['train'].num_rows} | {len(train_prompts)} |" in card
    assert "| tied pair (ties=drop) | 40 |" in card
    assert "From 40 annotations by 2 annotators." in card
    assert "| ties | drop |" in card and "**Agreement**" in card
    assert load_examples(out, "pairs")  # the trainer reads the train split


def test_same_export_twice_replaces_the_files(project, judged, tmp_path):
    out = tmp_path / "prefs"
    for _ in range(2):
        options = ExportOptions("ratings", test_fraction=0.0)
        export_to_path(project=project, options=options, out=out)
    assert datasets.load_from_disk(str(out))["train"].num_rows == 6
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prefs"]


def test_bad_output_paths_and_empty_folders_write_nothing(make_project, tmp_path):
    project = make_project(k=2, n_prompts=1, slug="empty")
    with pytest.raises(ExportError, match=r"out: .*\.csv.*expected \.jsonl, \.parquet"):
        export_to_path(
            project=project, options=ExportOptions("pairs"), out=tmp_path / "x.csv"
        )
    with pytest.raises(ExportError, match="no rows match the filters"):
        export_to_path(
            project=project, options=ExportOptions("pairs"), out=tmp_path / "folder"
        )
    assert list(tmp_path.iterdir()) == []


def test_options_name_the_wrong_field():
    with pytest.raises(ExportError, match="format: 'triples' is not one of pairs"):
        ExportOptions(format="triples")
    with pytest.raises(ExportError, match="min_agreement: 1.5 is outside 0 to 1"):
        ExportOptions(format="pairs", min_agreement=1.5)
    with pytest.raises(ExportError, match="undesirable_max_likert"):
        ExportOptions(format="unpaired", desirable_min_likert=3)


def test_rounds_filter_keeps_annotations_of_round_outputs(project, annotator, lead):
    from training.models import CandidateOrigin, ModelVersion, Round

    base = ModelVersion.objects.create(
        project=project, kind="policy", name="base", path="tiny"
    )
    round_two = Round.objects.create(
        project=project, number=2, algorithm="dpo", base_policy=base
    )
    prompt = Prompt.objects.create(project=project, text="Round two prompt")
    for name in ("gen-a", "gen-b"):
        candidate, _ = candidate_create(
            prompt=prompt, text=f"{name} text", source="policy-r2"
        )
        CandidateOrigin.objects.create(
            candidate=candidate, round=round_two, model_version=base
        )
    judge(
        project,
        annotator,
        [["good"], ["fine"], ["bad"]],
        {"good": 7, "fine": 5, "bad": 1},
    )
    judge(project, annotator, [["gen-b"], ["gen-a"]], {"gen-a": 2, "gen-b": 6})
    options = ExportOptions(format="pairs", rounds=(2,))
    [pair] = export_records(project=project, options=options)
    assert texts(pair, "chosen", "rejected") == ("gen-b", "gen-a")
    assert pair["chosen_round"] == pair["rejected_round"] == 2
    with pytest.raises(
        ExportError, match="rounds: project 'exp' has no round 5; its rounds: 2"
    ):
        export_records(
            project=project, options=ExportOptions(format="pairs", rounds=(5,))
        )


def test_command_writes_the_file_and_card(project, judged, tmp_path, capsys):
    out = tmp_path / "kto.jsonl"
    call_command(
        "export_data",
        "--project",
        "exp",
        "--format",
        "unpaired",
        "--out",
        str(out),
        "--style",
        "conversational",
        "--source",
        "human",
    )
    assert "Wrote" in capsys.readouterr().out
    assert len(out.read_text().splitlines()) == 5
    assert "| source | human |" in (tmp_path / "kto.README.md").read_text()
    with pytest.raises(CommandError, match="--project: no project with slug 'nope'"):
        call_command(
            "export_data", "--project", "nope", "--format", "pairs", "--out", str(out)
        )
    with pytest.raises(CommandError, match="min_agreement: 2.0 is outside"):
        call_command(
            "export_data",
            "--project",
            "exp",
            "--format",
            "pairs",
            "--out",
            str(out),
            "--min-agreement",
            "2",
        )


@pytest.fixture
def lead_client(client, lead):
    client.force_login(lead)
    return client


def export_url(project):
    return reverse("annotate:project_export", args=[project.slug])


def test_export_page_is_for_leads_and_linked_from_the_project_page(
    project, judged, lead_client, client, annotator
):
    detail = lead_client.get(reverse("annotate:project", args=[project.slug]))
    assert export_url(project) in detail.content.decode()
    page = lead_client.get(export_url(project))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="format"' in html and annotator.username in html
    client.force_login(annotator)
    assert client.get(export_url(project)).status_code == 403


def test_export_page_streams_jsonl_and_parquet(project, judged, lead_client, tmp_path):
    form = {
        "format": "pairs",
        "style": "standard",
        "source": "all",
        "min_agreement": "0",
        "ties": "drop",
    }
    response = lead_client.post(export_url(project), {**form, "file_type": "jsonl"})
    assert response.status_code == 200 and response.streaming
    assert 'filename="exp-pairs-' in response["Content-Disposition"]
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert [json.loads(line) for line in lines] == list(
        export_records(project=project, options=ExportOptions("pairs"))
    )
    response = lead_client.post(
        export_url(project),
        {**form, "file_type": "parquet", "exclude_flagged_chosen": "on"},
    )
    path = tmp_path / "download.parquet"
    path.write_bytes(b"".join(response.streaming_content))
    assert pq.read_table(path).num_rows == 6
    refused = lead_client.post(
        export_url(project), {**form, "file_type": "csv", "min_agreement": "3"}
    )
    assert refused.status_code == 400
    assert "file_type" in refused.context["form"].errors
    assert "min_agreement" in refused.context["form"].errors


@pytest.mark.parametrize("export_format", ["ratings", "raw"])
@pytest.mark.parametrize("style", ["standard", "conversational"])
def test_parquet_holds_every_field_of_the_records(
    project, judged, tmp_path, export_format, style
):
    options = ExportOptions(format=export_format, style=style)
    out = tmp_path / "out.parquet"
    export_to_path(project=project, options=options, out=out)
    expected = list(export_records(project=project, options=options))
    assert pq.read_table(out).to_pylist() == expected


@pytest.mark.parametrize(
    "export_format,fields",
    [
        ("pairs", ("prompt", "chosen", "rejected")),
        ("rankings", ("prompt", "completions", "ranks")),
        ("unpaired", ("prompt", "completion", "label")),
    ],
)
def test_export_import_export_round_trip(
    project, annotator, tmp_path, export_format, fields
):
    # One judge: the importer stores identical judgements of a prompt only once.
    judge(
        project,
        annotator,
        [["fine"], ["good"], ["bad"]],
        {"good": 6, "fine": 7, "bad": 1},
    )
    first = tmp_path / "first.jsonl"
    export_to_path(project=project, options=ExportOptions(export_format), out=first)
    import_file(path=first, project_slug="reimported", format="auto")
    again = export_records(
        project=Project.objects.get(slug="reimported"),
        options=ExportOptions(export_format),
    )
    exported = list(
        export_records(project=project, options=ExportOptions(export_format))
    )
    reimported = list(again)

    def key(records):
        return sorted(json.dumps([r[f] for f in fields]) for r in records)

    assert key(reimported) == key(exported)
    assert {r["source"] for r in reimported} == {"imported"}
    # The importer keeps the pseudonym, so the export carries it again.
    assert {r["annotator"] for r in reimported} == {r["annotator"] for r in exported}


@pytest.fixture
def hand_ranked(make_project, annotator):
    """good > fine = meh > bad, rated 7, 3, 5, 4: fine over bad contradicts ratings."""
    project = make_project(k=4, n_prompts=0, slug="margins", members=[annotator])
    prompt, _ = prompt_create(project=project, text="Name a colour.")
    for name in ("good", "fine", "meh", "bad"):
        candidate_create(prompt=prompt, text=f"{name} answer", source=f"model-{name}")
    judge(
        project,
        annotator,
        [["good"], ["fine", "meh"], ["bad"]],
        {"good": 7, "fine": 3, "meh": 5, "bad": 4},
    )
    return project


def margins(project, **options):
    return [
        (*texts(r, "chosen", "rejected"), r.get("margin"), r["rank_gap"])
        for r in export_records(project=project, options=ExportOptions(**options))
    ]


def test_margin_is_opt_in_and_the_rank_gap_always_written(hand_ranked, tmp_path):
    assert margins(hand_ranked, format="pairs") == [
        ("good", "fine", None, 1),
        ("good", "meh", None, 1),
        ("good", "bad", None, 2),
        ("fine", "bad", None, 1),
        ("meh", "bad", None, 1),
    ]
    out = tmp_path / "pairs.parquet"
    export_to_path(project=hand_ranked, options=ExportOptions("pairs"), out=out)
    names = pq.read_schema(out).names
    assert "margin" not in names and {"rank_gap", "likert_gap"} <= set(names)


def test_margin_from_the_rank_gap_or_the_likert_gap(hand_ranked):
    by_rank = margins(hand_ranked, format="pairs", margin=MarginSource.RANK_GAP)
    assert [(c, r, m) for c, r, m, _ in by_rank] == [
        ("good", "fine", 1.0),
        ("good", "meh", 1.0),
        ("good", "bad", 2.0),
        ("fine", "bad", 1.0),
        ("meh", "bad", 1.0),
    ]
    by_likert = margins(hand_ranked, format="pairs", margin="likert-gap")
    # 7-3, 7-5, 7-4, and fine (3) over bad (4) ranked against its ratings: 0, not -1.
    assert [m for _, _, m, _ in by_likert] == [4.0, 2.0, 3.0, 0.0, 1.0]
    kept = margins(hand_ranked, format="pairs", ties="keep", margin="rank-gap")
    assert ("fine", "meh", 0.0, 0) in kept
    records = export_records(
        project=hand_ranked, options=ExportOptions("pairs", margin="likert-gap")
    )
    assert (
        list(next(records))
        == schema_for(ExportOptions("pairs", margin="likert-gap")).names
    )
    with pytest.raises(ExportError, match="margin: 'rank' is not one of none, "):
        ExportOptions("pairs", margin="rank")


def test_ties_stay_out_of_chosen_and_rejected_unless_asked(hand_ranked, tmp_path):
    def tied_rows(**options):
        return [
            (*texts(r, "chosen", "rejected"), r["tie"])
            for r in export_records(
                project=hand_ranked, options=ExportOptions("pairs", **options)
            )
            if {r["chosen"], r["rejected"]} == {"fine answer", "meh answer"}
        ]

    assert tied_rows() == []
    assert tied_rows(ties="keep") == [("fine", "meh", True)]
    assert tied_rows(ties="split") == [("fine", "meh", True), ("meh", "fine", True)]
    report = export_to_path(
        project=hand_ranked, options=ExportOptions("pairs"), out=tmp_path / "p.jsonl"
    )
    card = report.card_path.read_text(encoding="utf-8")
    assert "| tied pair (ties=drop) | 1 |" in card
    assert "- No row holds two tied outputs (ties=drop)." in card


def test_the_card_says_what_trl_reads(hand_ranked, tmp_path):
    def card(**options):
        report = export_to_path(
            project=hand_ranked,
            options=ExportOptions(**options),
            out=tmp_path / f"{len(options)}.jsonl",
        )
        return report.card_path.read_text(encoding="utf-8")

    default = card(format="pairs")
    assert "| margin | none |" in default
    assert (
        "- No `margin` column (margin=none), so RewardTrainer uses its plain loss "
        "−log σ(r_chosen − r_rejected)." in default
    )
    assert "| `rank_gap` | `int32` |" in default and "| `margin` |" not in default
    assert "No TRL trainer reads `weight`, `tie`, `rank_gap` or `likert_gap`." in (
        default.replace("\n", " ")
    )
    asked = card(format="pairs", margin="rank-gap", ties="keep")
    assert "| `margin` | `double` |" in asked and "| margin | rank-gap |" in asked
    assert "- `margin` is the rank gap (margin=rank-gap)" in asked
    assert "- 1 row has `tie` true (ties=keep): TRL trains on each as a real" in asked
    assert "## Training with TRL" not in card(format="rankings", margin="rank-gap")


def test_margin_through_the_command_the_page_and_the_api(
    hand_ranked, lead, tmp_path, client
):
    out = tmp_path / "pairs.jsonl"
    call_command(
        "export_data",
        *("--project", "margins", "--format", "pairs", "--out", str(out)),
        *("--margin", "likert-gap"),
    )
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["margin"] for row in rows] == [4.0, 2.0, 3.0, 0.0, 1.0]
    client.force_login(lead)
    form = {"format": "pairs", "style": "standard", "source": "all"}
    form |= {"min_agreement": "0", "ties": "drop", "file_type": "jsonl"}
    page = client.post(export_url(hand_ranked), {**form, "margin": "rank-gap"})
    lines = b"".join(page.streaming_content).decode().splitlines()
    assert [json.loads(line)["margin"] for line in lines] == [1.0, 1.0, 2.0, 1.0, 1.0]
    api = APIClient()
    api.force_authenticate(lead)
    body = {"project": hand_ranked.pk, "format": "pairs"}
    default = api.post("/api/v1/exports/", body, format="json")
    lines = b"".join(default.streaming_content).decode().splitlines()
    assert all("margin" not in json.loads(line) for line in lines)
    refused = api.post("/api/v1/exports/", {**body, "margin": "rank"}, format="json")
    assert refused.status_code == 400 and "margin" in refused.json()["errors"]


def test_every_format_carries_the_pseudonymous_annotator(
    project, judged, annotator, other_annotator
):
    for export_format in ExportFormat.values:
        options = ExportOptions(export_format)
        annotators = {
            r["annotator"] for r in export_records(project=project, options=options)
        }
        assert len(annotators) == 2, export_format
        assert not annotators & {annotator.username, other_annotator.username, None}
