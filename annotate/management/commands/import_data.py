from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotate.importing import FORMATS
from annotate.importing.service import ImportRejected, import_file


class Command(BaseCommand):
    help = (
        "Import prompts, ready-made outputs or preference data (TRL, HH-RLHF, "
        "UltraFeedback, rankings) from a JSONL, CSV or Parquet file or a datasets "
        "folder. All rows are checked first: one bad row and nothing is written."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="JSONL/CSV/Parquet or a folder.")
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
        try:
            report = import_file(
                path=Path(str(options["file"])),
                project_slug=str(options["project"]),
                format=str(options["format"]),
            )
        except ImportRejected as err:
            raise CommandError(f"Nothing imported.\n{err}") from err
        for line in report.lines():
            self.stdout.write(line)
