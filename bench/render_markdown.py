"""Markdown rendering and the task page: linear in the text, a page that only copies.

Times `annotate.rendering.render_markdown` (run once, when an output is saved) on
ordinary chat-model Markdown and on inputs built to be slow, at growing sizes, and
prints microseconds per character: flat across sizes means linear. `--old` adds
python-markdown, the renderer before it, at small sizes (it is quadratic: every size
doubling quadruples its time). Then builds a project in a temporary SQLite file
with a prompt of K outputs at the length limit and times the task page, which shows
the stored HTML. Not a test: the figures depend on the machine and its load.

    .venv/bin/python bench/render_markdown.py
    .venv/bin/python bench/render_markdown.py --sizes 10000 40000 100000 --old
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PAGE_K = 9  # the most outputs a task has (annotate.models.K_MAX)
WORDS = (
    "The model **answers** each question with `short` code, *clear* steps and a "
    "[link](https://example.org/docs) to the docs; it explains every step in plain "
    "words."
)
ORDINARY = (
    f"## Answer\n\n{WORDS}\n\n- first point\n- second point\n\n"
    "```python\nprint('hello')\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n"
)
# One repeated unit each; together they are what made python-markdown take minutes.
PATHOLOGICAL = {
    "[": "[",
    "![": "![",
    "[a](": "[a](",
    "> (nested)": ">",
    "> line by line": "> ",
    "*a": "*a",
    "`a": "`a",
    "<": "<",
    "<a ": "<a ",
    "[x](u) links": "[x](http://e.example) ",
    "table rows": "| a | b |\n",
}


def setup_django(database: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sys.path.insert(0, str(REPO))
    import django

    django.setup()


def repeated(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


def seconds(render: Callable[[str], object], text: str, repeats: int) -> float:
    """The fastest of `repeats` runs: the least disturbed by other load."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        render(text)
        best = min(best, time.perf_counter() - start)
    return best


def render_table(sizes: list[int], repeats: int) -> None:
    from annotate.rendering import render_markdown

    header = f"{'input':<18}" + "".join(f"{n:>12,}" for n in sizes)
    print("render_markdown, ms (µs per character) at each size in characters")
    print(header)
    for name, unit in [("ordinary", ORDINARY), *PATHOLOGICAL.items()]:
        cells = []
        for size in sizes:
            took = seconds(render_markdown, repeated(unit, size), repeats)
            cells.append(f"{took * 1e3:7.0f} ({took * 1e6 / size:4.1f})")
        print(f"{name:<18}" + "".join(f"{cell:>12}" for cell in cells))


def old_table() -> None:
    """python-markdown on small inputs: each doubling quadruples the time."""
    import markdown

    def python_markdown(text: str) -> str:
        return markdown.markdown(text, extensions=["fenced_code", "sane_lists"])

    small = [1_000, 2_000, 4_000]
    print("\npython-markdown (the renderer before), ms at", small)
    for name in ("ordinary", "[", "![", "[a]("):
        unit = ORDINARY if name == "ordinary" else PATHOLOGICAL[name]
        cells = [
            f"{seconds(python_markdown, repeated(unit, n), 1) * 1e3:9.0f}"
            for n in small
        ]
        print(f"{name:<18}" + "".join(cells))


def page_times(repeats: int) -> None:
    """Task page with PAGE_K outputs at the length limit: ms to write and to show."""
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import reverse

    from annotate import limits
    from annotate.models import Membership, Project
    from annotate.services import (
        assignment_next,
        candidate_create,
        membership_set,
        prompt_create,
    )

    setup_test_environment()
    call_command("migrate", verbosity=0)
    size = limits.OUTPUT.chars()
    user = User.objects.create_user("bench_annotator")
    print(f"\ntask page, {PAGE_K} outputs of {size:,} characters each (the limit)")
    print(f"{'outputs':<18}{'write ms':>12}{'page ms':>12}{'page KB':>12}")
    for number, (name, unit) in enumerate([("ordinary", ORDINARY), ("[", "[")]):
        project = Project.objects.create(slug=f"bench-{number}", name=name)
        membership_set(project=project, user=user, role=Membership.Role.ANNOTATOR)
        prompt, _ = prompt_create(project=project, text="Judge these.")
        start = time.perf_counter()
        for k in range(PAGE_K):
            text = f"{k}: " + repeated(unit, size - 3)
            candidate_create(prompt=prompt, text=text, source=f"m{k}")
        write = (time.perf_counter() - start) / PAGE_K
        assignment = assignment_next(project=project, annotator=user)
        assert assignment is not None
        client = Client()
        client.force_login(user)
        url = reverse("annotate:task", args=[project.slug, assignment.pk])
        took = []
        for _ in range(repeats):
            start = time.perf_counter()
            response = client.get(url)
            took.append(time.perf_counter() - start)
            assert response.status_code == 200
        page = statistics.median(took)
        print(
            f"{name:<18}{write * 1e3:>12.0f}{page * 1e3:>12.0f}"
            f"{len(response.content) / 1024:>12,.0f}"
        )
    print("(write: one output, rendered as it is saved; page: median of repeats)")
    try:
        candidate_create(prompt=prompt, text=repeated(ORDINARY, 10**6), source="big")
    except limits.TextTooLong as refused:
        print(f"a 1 MB output is refused: {refused.messages[0]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[10_000, 40_000, 100_000]
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--old", action="store_true", help="time python-markdown too")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        setup_django(Path(folder) / "bench.sqlite3")
        render_table(args.sizes, args.repeats)
        if args.old:
            old_table()
        page_times(args.repeats)


if __name__ == "__main__":
    main()
