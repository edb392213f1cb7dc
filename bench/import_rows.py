"""Import speed and queries of N rankings rows (K=4); the Parquet bomb's refusal.

Writes a JSONL file of N distinct prompts, each with K outputs ranked 1..K (so C(K,2)
comparisons each), imports it with `import_file` into a fresh temporary SQLite file
(the embedded default) and prints the seconds (and how many of them the first pass,
checking every row, took: the rest is the write transaction), rows per second and SQL
queries; then imports it again (everything already there). Then builds a Parquet file of
3,000,000 dictionary-encoded rows (a few KB on disk) and times its refusal at
RANKWISE_IMPORT_MAX_ROWS with this process's peak memory. Not a test: the figures
depend on the machine and its load.

    .venv/bin/python bench/import_rows.py                  # 2,000 rows
    .venv/bin/python bench/import_rows.py --rows 20000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
K = 4
BOMB_ROWS = 3_000_000
WORDS = ("the", "model", "answers", "each", "question", "with", "short", "clear")
WORDS += ("helpful", "sentences", "and", "explains", "every", "step", "in", "plain")


def setup_django(work: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{work / 'bench.sqlite3'}"
    os.environ["RANKWISE_VAR_DIR"] = str(work)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, skip_checks=True)


def sentence(seed: int, length: int) -> str:
    return " ".join(WORDS[(seed * 7 + i * 3) % len(WORDS)] for i in range(length))


def write_rankings(path: Path, rows: int) -> Path:
    with path.open("w") as file:
        for n in range(rows):
            record = {
                "prompt": f"{n}: {sentence(n, 12)}?",
                "completions": [f"{c}. {sentence(n + c, 40)}" for c in range(K)],
                "ranks": list(range(1, K + 1)),
            }
            file.write(json.dumps(record) + "\n")
    return path


def timed_import(path: Path) -> dict[str, object]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from annotate.importing.service import import_file

    checked: list[float] = []  # when each checking report came: the last ends it

    def progress(phase: str, done: int, total: int | None) -> None:
        if phase == "checking":
            checked.append(time.perf_counter())

    start = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        report = import_file(path=path, project_slug="bench", progress=progress)
    end = time.perf_counter()
    return {
        "rows": report.rows,
        "seconds": round(end - start, 2),
        "checking s": round(checked[-1] - start, 2),
        "rows/s": round(report.rows / (end - start)),
        "queries": len(queries),
        "annotations added": report.added["annotations"],
        "comparisons added": report.added["comparisons"],
    }


def bomb(path: Path) -> dict[str, object]:
    """A tiny Parquet file of BOMB_ROWS rows sharing one dictionary-encoded value."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from annotate.importing.service import ImportRejected, import_file

    value = pa.DictionaryArray.from_arrays(
        pa.array([0] * BOMB_ROWS, type=pa.int32()), pa.array(["Say something."])
    )
    pq.write_table(pa.table({"prompt": value}), path, compression="zstd")
    del value
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    try:
        import_file(path=path, project_slug="bomb")
    except ImportRejected as refused:
        answer = str(refused)
    return {
        "file KB": round(path.stat().st_size / 1024, 1),
        "rows": BOMB_ROWS,
        "refused in s": round(time.perf_counter() - start, 3),
        "peak RSS growth MiB": round(
            (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024, 1
        ),
        "answer": answer,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="import-bench-", dir="/tmp") as folder:
        work = Path(folder)
        setup_django(work)
        path = write_rankings(work / "rankings.jsonl", args.rows)
        for run in ("first import", "again (all there)"):
            print(run, json.dumps(timed_import(path)), flush=True)
        print("Parquet bomb", json.dumps(bomb(work / "bomb.parquet")), flush=True)


if __name__ == "__main__":
    main()
