"""Imported judgements carry the pseudonymous annotator their data named into every
export, the raw one included, so an export of re-imported data keeps them apart."""

import json
from pathlib import Path

import pytest

from annotate.exporting import ExportFormat, ExportOptions, export_records
from annotate.importing.service import import_file
from annotate.models import Project

pytestmark = pytest.mark.django_db


def test_every_export_of_imported_rows_names_their_annotator(tmp_path: Path):
    row = {"prompt": "Capital of France?", "chosen": "Paris", "rejected": "Lyon"}
    rows = [row, {**row, "annotator": "a1"}, {**row, "annotator": "a2"}]
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    import_file(path=path, project_slug="imp")
    project = Project.objects.get(slug="imp")
    # Unpaired leaves these out: a pair without ratings is Likert 4, neither label.
    for export_format in ("raw", "pairs", "rankings", "ratings"):
        options = ExportOptions(ExportFormat(export_format))
        records = export_records(project=project, options=options)
        named = {record["annotator"] for record in records}
        # The row naming nobody stays unnamed (null), as before.
        assert named == {None, "a1", "a2"}, export_format
