"""Imports that scale: caps on bytes and rows, streamed reading, bulk writes.

A Parquet file's row count is read from its footer and refused at the cap before a
row is decoded; JSON lines and arrays are read a record at a time; rows are written
a chunk at a time with a fixed number of queries, storing what the per-row services
(prompt_create, candidate_create, ranking_expand) store.
"""

import json
import tracemalloc
from math import comb
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from annotate.importing import reading, service
from annotate.importing.service import ImportRejected, import_file
from annotate.models import (
    Annotation,
    Assignment,
    Candidate,
    Comparison,
    Judgement,
    Project,
    Prompt,
    content_hash,
)
from annotate.rendering import render_markdown
from annotate.services import ranking_expand

pytestmark = pytest.mark.django_db

K = 4
BOMB_ROWS = 3_000_000


def rankings(n: int, start: int = 0) -> list[dict]:
    return [
        {
            "prompt": f"Question {i}: which answer is best?",
            "completions": [f"**Answer** {c} to {i}" for c in range(K)],
            "ranks": [1, 2, 3, 3],  # the last two tied
        }
        for i in range(start, start + n)
    ]


def write_jsonl(path: Path, records) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


def rejected(excinfo) -> list[str]:
    return [str(error) for error in excinfo.value.errors]


@pytest.fixture
def parquet_reads(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """Every iter_batches call on a Parquet file, with its arguments."""
    calls: list[dict] = []
    real = pq.ParquetFile.iter_batches

    def spy(self, *args, **kwargs):
        calls.append(kwargs)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", spy)
    return calls


def test_parquet_bomb_is_refused_at_the_row_cap_before_any_row_is_decoded(
    tmp_path, parquet_reads
):
    # 3M rows of one dictionary-encoded string: a few KB on disk, ~2 GB as records.
    indices = pa.array(np.zeros(BOMB_ROWS, dtype=np.int32))
    column = pa.DictionaryArray.from_arrays(indices, pa.array(["Say something."]))
    path = tmp_path / "bomb.parquet"
    pq.write_table(pa.table({"prompt": column}), path, compression="zstd")
    del indices, column
    assert path.stat().st_size < 64 * 1024
    tracemalloc.start()
    with pytest.raises(ImportRejected) as excinfo:
        import_file(path=path, project_slug="imp")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert rejected(excinfo) == [
        "bomb.parquet has 3,000,000 rows; expected at most 1,000,000 "
        "(RANKWISE_IMPORT_MAX_ROWS)"
    ]
    assert parquet_reads == []  # only the footer was read
    assert peak < 2 * 1024 * 1024
    assert not Project.objects.exists()


def test_parquet_is_read_in_batches(tmp_path, parquet_reads):
    path = tmp_path / "ranked.parquet"
    pq.write_table(pa.Table.from_pylist(rankings(600)), path, row_group_size=250)
    report = import_file(path=path, project_slug="imp")
    assert report.added["annotations"] == 600
    # Twice through the file (check, then write), a small batch at a time.
    assert [call["batch_size"] for call in parquet_reads] == [reading.BATCH_ROWS] * 2


def test_row_cap_refuses_a_jsonl_file_past_it_and_writes_nothing(tmp_path, settings):
    settings.RANKWISE_IMPORT_MAX_ROWS = 3
    path = write_jsonl(tmp_path / "four.jsonl", rankings(4))
    with pytest.raises(ImportRejected) as excinfo:
        import_file(path=path, project_slug="imp")
    assert rejected(excinfo) == [
        "four.jsonl has more than 3 rows; expected at most 3 (RANKWISE_IMPORT_MAX_ROWS)"
    ]
    assert not Prompt.objects.exists()
    settings.RANKWISE_IMPORT_MAX_ROWS = 4
    assert import_file(path=path, project_slug="imp").rows == 4


def test_byte_cap_refuses_a_file_before_reading_it(tmp_path, settings):
    path = write_jsonl(tmp_path / "big.jsonl", rankings(3))
    settings.RANKWISE_IMPORT_MAX_BYTES = path.stat().st_size - 1
    with pytest.raises(ImportRejected) as excinfo:
        import_file(path=path, project_slug="imp")
    size, cap = path.stat().st_size, path.stat().st_size - 1
    assert rejected(excinfo) == [
        f"big.jsonl is {size:,} bytes; expected at most {cap:,} "
        "(RANKWISE_IMPORT_MAX_BYTES)"
    ]
    assert not Project.objects.exists()


def test_jsonl_streams_a_line_at_a_time(tmp_path):
    line = json.dumps(rankings(1)[0]) + "\n"
    path = tmp_path / "many.jsonl"
    path.write_text(line * 40_000)  # 9 MB
    tracemalloc.start()
    rows = sum(1 for _ in reading.open_file(path, "many.jsonl").read())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert rows == 40_000
    assert peak < 3 * 1024 * 1024  # the read buffer and one record, not the file


def test_a_line_longer_than_any_row_is_a_row_error_and_reading_goes_on(
    tmp_path, settings
):
    settings.RANKWISE_MAX_PROMPT_CHARS = settings.RANKWISE_MAX_OUTPUT_CHARS = 10
    limit = 6 * (10 + 9 * 10) + (1 << 20)
    path = tmp_path / "long.jsonl"
    with path.open("w") as file:
        file.write(json.dumps({"prompt": "ok"}) + "\n")
        file.write(json.dumps({"prompt": "x" * (limit + 10)}) + "\n")
        file.write(json.dumps({"prompt": 7}) + "\n")
    with pytest.raises(ImportRejected) as excinfo:
        import_file(path=path, project_slug="imp")
    assert rejected(excinfo) == [
        f"row 2: is longer than {limit:,} bytes; expected one record",
        "row 3: field 'prompt' is int; expected a string or a list of {role, "
        "content} messages",
    ]


@pytest.mark.parametrize("read_bytes", [7, reading.READ_BYTES])
def test_json_arrays_are_read_an_element_at_a_time(tmp_path, monkeypatch, read_bytes):
    # 7 bytes a read: elements, strings and numbers cut at every point of a buffer.
    monkeypatch.setattr(reading, "READ_BYTES", read_bytes)
    records = rankings(3)
    records[1]["ranks"] = [1, 20, 300, 300]  # numbers that a cut would shorten
    path = tmp_path / "ranked.json"
    path.write_text("\ufeff[\n" + ",\n".join(json.dumps(r, indent=2) for r in records))
    with pytest.raises(ImportRejected, match="expected ',' or ']' after row 3"):
        import_file(path=path, project_slug="imp")
    path.write_text(json.dumps(records, indent=2))
    report = import_file(path=path, project_slug="imp")
    assert (report.format, report.rows, report.added["annotations"]) == (
        "rankings",
        3,
        3,
    )
    middle = Annotation.objects.get(import_source="rankings · ranked.json row 2")
    assert sorted(middle.judgements.values_list("rank", flat=True)) == [1, 2, 3, 3]


def test_json_array_rows_are_numbered_by_element_and_bad_ones_listed(tmp_path):
    path = tmp_path / "prompts.json"
    path.write_text('[{"prompt": "a"}, 7, {"prompt": ""}, {"prompt": "d"}]')
    with pytest.raises(ImportRejected) as excinfo:
        import_file(path=path, project_slug="imp")
    assert rejected(excinfo) == [
        "row 2: expected an object, got int",
        "row 3: field 'prompt' is empty; expected some text",
    ]
    path.write_text("[]")
    with pytest.raises(ImportRejected, match=r"prompts.json: no records"):
        import_file(path=path, project_slug="imp")
    path.write_text('[{"prompt": "a"}] {"prompt": "b"}')
    with pytest.raises(ImportRejected, match=r"text after the array's closing"):
        import_file(path=path, project_slug="imp")


def test_json_files_of_json_lines_are_read_as_datasets_writes_them(tmp_path):
    path = write_jsonl(tmp_path / "to_json.json", rankings(2))
    assert import_file(path=path, project_slug="imp").added["annotations"] == 2


def test_a_chunk_costs_a_fixed_number_of_queries(
    tmp_path, monkeypatch, django_assert_max_num_queries
):
    monkeypatch.setattr(service, "CHUNK_ROWS", 20)
    path = write_jsonl(tmp_path / "ranked.jsonl", rankings(60))
    # Per chunk: find + create prompts, outputs; find judgements; create assignments,
    # annotations, judgements, comparisons. Plus the project's get_or_create (4) and
    # the import's transaction (a savepoint in a test's transaction: 2).
    with django_assert_max_num_queries(3 * 9 + 6):
        report = import_file(path=path, project_slug="imp")
    assert report.added == {
        "prompts": 60,
        "candidates": 60 * K,
        "annotations": 60,
        "comparisons": 60 * (comb(K, 2) - 1),  # the tie gives no pair
    }
    assert Judgement.objects.count() == 60 * K
    assert Assignment.objects.filter(annotator=None, status="submitted").count() == 60
    again = write_jsonl(tmp_path / "again.jsonl", rankings(80))  # 60 known, 20 new
    with django_assert_max_num_queries(4 * 9 + 3):
        report = import_file(path=again, project_slug="imp")
    assert (report.added["annotations"], report.duplicates["annotations"]) == (20, 60)


def test_bulk_writes_store_what_the_per_row_services_store(tmp_path):
    path = write_jsonl(tmp_path / "ranked.jsonl", rankings(3))
    import_file(path=path, project_slug="imp")
    for prompt in Prompt.objects.all():
        assert prompt.content_hash == content_hash(prompt.text, prompt.messages)
    for candidate in Candidate.objects.all():
        assert candidate.content_hash == content_hash(candidate.text, candidate.source)
        assert candidate.html == render_markdown(candidate.text)
        assert "<strong>Answer</strong>" in candidate.html

    def pairs(annotation):
        return sorted(
            annotation.comparisons.values_list(
                "chosen__text", "rejected__text", "weight", "rank_gap", "likert_gap"
            )
        )

    for annotation in Annotation.objects.all():
        bulk = pairs(annotation)
        ranking_expand(annotation=annotation)
        assert pairs(annotation) == bulk and len(bulk) == comb(K, 2) - 1
    weights = Comparison.objects.values_list("weight", flat=True)
    assert list(weights) == [pytest.approx(1 / 5)] * 15


def test_a_chunk_repeating_rows_counts_them_once(tmp_path, monkeypatch):
    monkeypatch.setattr(service, "CHUNK_ROWS", 3)
    row = rankings(1)[0]
    path = write_jsonl(tmp_path / "same.jsonl", [row] * 5)  # in both chunks
    report = import_file(path=path, project_slug="imp")
    assert report.added == {
        "prompts": 1,
        "candidates": K,
        "annotations": 1,
        "comparisons": comb(K, 2) - 1,
    }
    assert report.duplicates == {"prompts": 4, "candidates": 4 * K, "annotations": 4}
    assert Annotation.objects.get().import_source == "rankings · same.jsonl row 1"
