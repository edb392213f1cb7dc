"""Peak memory of `export_to_path` at 10k pairs and at 1M pairs: it should stay flat.

Builds two synthetic projects with bulk_create in a temporary SQLite file (K=4
outputs, one strict ranking each, so 6 pairs per annotation), then exports each in
a fresh child process per file type and reads that child's peak RSS. Not a test:
the figures depend on the machine.

    .venv/bin/python bench/export_memory.py                  # 10k vs 1M pairs
    .venv/bin/python bench/export_memory.py --pairs 10000 200000 --types jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
K = 4  # outputs per prompt
PAIRS_PER_ANNOTATION = K * (K - 1) // 2
BATCH = 20_000  # rows per bulk_create
WORDS = ("the", "model", "answers", "each", "question", "with", "short", "clear")
WORDS += ("helpful", "sentences", "and", "explains", "every", "step", "in", "plain")
FIGURES = ("rows", "seconds", "rss_before", "peak_rss", "peak_anon", "peak_file")
COLUMNS = (
    "pairs",
    "file",
    "rows",
    "seconds",
    "peak RSS before export (MiB)",
    "peak RSS (MiB)",
    "peak anonymous RSS (MiB)",
    "peak file-backed RSS (MiB)",
)


def setup_django(database: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sys.path.insert(0, str(REPO))
    import django

    django.setup()


def sentence(seed: int, length: int) -> str:
    return " ".join(WORDS[(seed * 7 + i * 3) % len(WORDS)] for i in range(length))


def build_project(slug: str, pairs: int) -> None:
    """A project whose rankings expand into `pairs` pairs (rounded up to 6)."""
    from django.contrib.auth.models import User

    from annotate.models import (
        Annotation,
        Assignment,
        Candidate,
        Judgement,
        Project,
        Prompt,
    )

    annotator, _ = User.objects.get_or_create(username="bench_annotator")
    project = Project.objects.create(slug=slug, name=slug, annotations_per_prompt=1)
    n_prompts = -(-pairs // PAIRS_PER_ANNOTATION)
    for start in range(0, n_prompts, BATCH // K):
        count = min(BATCH // K, n_prompts - start)
        prompts = Prompt.objects.bulk_create(
            Prompt(
                project=project,
                text=f"{n}: {sentence(n, 12)}?",
                content_hash=f"{slug}-{n}",
            )
            for n in range(start, start + count)
        )
        candidates = Candidate.objects.bulk_create(
            Candidate(
                prompt=prompt,
                text=sentence(prompt.pk + c, 40),
                source=f"model-{c}",
                content_hash=f"{prompt.pk}-{c}",
            )
            for prompt in prompts
            for c in range(K)
        )
        assignments = Assignment.objects.bulk_create(
            Assignment(
                annotator=annotator,
                prompt=prompt,
                display_order=[c.pk for c in candidates[i * K : (i + 1) * K]],
                status=Assignment.Status.SUBMITTED,
                time_spent_ms=5000,
            )
            for i, prompt in enumerate(prompts)
        )
        annotations = Annotation.objects.bulk_create(
            Annotation(assignment=assignment) for assignment in assignments
        )
        Judgement.objects.bulk_create(
            Judgement(
                annotation=annotation,
                candidate=candidate,
                rank=c + 1,
                likert=7 - c,
                flags=[],
            )
            for i, annotation in enumerate(annotations)
            for c, candidate in enumerate(candidates[i * K : (i + 1) * K])
        )


class MemorySampler:
    """Peak anonymous and file-backed RSS of this process, read every 20 ms.

    ru_maxrss alone counts the pages of memory-mapped files (datasets reads its
    Arrow files that way), which the kernel can drop at will; RssAnon is the heap.
    """

    def __init__(self) -> None:
        self.peaks = {"RssAnon": 0, "RssFile": 0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            self._sample()
            if self._stop.wait(0.02):
                return

    def _sample(self) -> None:
        for line in Path("/proc/self/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in self.peaks:
                kib = int(value.split()[0])
                self.peaks[name] = max(self.peaks[name], kib)


def mib(kib: int) -> float:
    return round(kib / 1024, 1)


def measure(slug: str, out: Path) -> dict[str, object]:
    """Export the project's pairs to `out` in this process; memory and rows."""
    from annotate.exporting import ExportOptions, export_to_path
    from annotate.models import Project

    project = Project.objects.get(slug=slug)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    with MemorySampler() as sampler:
        report = export_to_path(
            project=project, options=ExportOptions("pairs"), out=out
        )
    return {
        "rows": sum(report.stats.rows.values()),
        "seconds": round(time.perf_counter() - start, 1),
        "rss_before": mib(before),
        "peak_rss": mib(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss),
        "peak_anon": mib(sampler.peaks["RssAnon"]),
        "peak_file": mib(sampler.peaks["RssFile"]),
    }


def run_child(database: Path, slug: str, out: Path) -> dict[str, object]:
    """`measure` in a fresh interpreter, so each peak RSS is its own."""
    command = [sys.executable, __file__, "--child", str(database), slug, str(out)]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def table_row(cells: list[object] | tuple[object, ...]) -> str:
    return "| " + " | ".join(map(str, cells)) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, nargs=2, default=[10_000, 1_000_000])
    parser.add_argument("--types", default="jsonl,parquet,datasets")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        database, slug, out = args.child
        setup_django(Path(database))
        print(json.dumps(measure(slug, Path(out))))
        return
    suffixes = {"jsonl": ".jsonl", "parquet": ".parquet", "datasets": ""}
    with tempfile.TemporaryDirectory(prefix="export-bench-", dir="/tmp") as work:
        database = Path(work) / "bench.sqlite3"
        setup_django(database)
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        for pairs in args.pairs:
            start = time.perf_counter()
            build_project(f"bench-{pairs}", pairs)
            print(
                f"built {pairs} pairs in {time.perf_counter() - start:.0f} s",
                flush=True,
            )
        print(table_row(COLUMNS), flush=True)
        print(table_row(["---"] * len(COLUMNS)))
        for file_type in args.types.split(","):
            for pairs in args.pairs:
                out = Path(work) / f"out-{pairs}{suffixes[file_type]}"
                figures = run_child(database, f"bench-{pairs}", out)
                row = [figures[key] for key in FIGURES]
                print(table_row([pairs, file_type, *row]), flush=True)
                subprocess.run(["rm", "-rf", str(out)], check=True)


if __name__ == "__main__":
    main()
