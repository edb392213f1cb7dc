from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from annotate.importing import FORMATS
from annotate.importing.service import ImportRejected, import_file


class Command(BaseCommand):
    help = (
        "Import prompts, ready-made outputs or preference data (TRL, HH-RLHF, "
        "UltraFeedback, rankings) from a JSONL, JSON, CSV or Parquet file or a "
        "datasets folder, here and now (uploads in the admin and the API run on a "
        "worker). All rows are checked first: one bad row and nothing is written."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "file", type=Path, help="JSONL/JSON/CSV/Parquet or a datasets folder."
        )
        parser.add_argument(
            "--project", required=True, help="Project slug; created if missing."
        )
        parser.add_argument(
            "--format",
            choices=FORMATS,
            default="auto",
            help="Record shape; 'auto' tells it from the first record's fields.",
        )

    def handle(self, *args: object, **options: object) -> None:
        # The bar goes to stderr and only on a terminal: logs keep the counts alone.
        with _Bar(disable=None, unit=" rows") as bar:
            try:
                report = import_file(
                    path=Path(str(options["file"])),
                    project_slug=str(options["project"]),
                    format=str(options["format"]),
                    progress=bar.show,
                )
            except ImportRejected as err:
                raise CommandError(f"Nothing imported.\n{err}") from err
        for line in report.lines():
            self.stdout.write(line)


class _Bar(tqdm):
    """One bar per phase (checking, then writing), counting rows."""

    def show(self, phase: str, done: int, total: int | None) -> None:
        if self.disable:  # not a terminal: tqdm set up nothing to draw
            return
        if self.desc != phase:
            self.set_description_str(phase, refresh=False)
            self.reset(total=total)
        else:
            self.total = total  # a JSON lines file's rows are known once checked
        self.update(done - self.n)
