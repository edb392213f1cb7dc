"""Headings an output or the instructions write sit below the page's own (h1–h3)."""

from __future__ import annotations

import re
import time

import pytest
from django.urls import reverse

from annotate.models import Candidate
from annotate.rendering import render_markdown
from annotate.services import assignment_next


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("# Title", "<h4>Title</h4>\n"),
        ("## Part", "<h5>Part</h5>\n"),
        ("### Step", "<h6>Step</h6>\n"),
        ("###### Deepest", "<h6>Deepest</h6>\n"),
        ("Setext title\n===", "<h4>Setext title</h4>\n"),
        ("Setext part\n---", "<h5>Setext part</h5>\n"),
        ("> # Quoted", "<blockquote>\n<h4>Quoted</h4>\n</blockquote>\n"),
        ("- # Listed", "<ul>\n<li>\n<h4>Listed</h4>\n</li>\n</ul>\n"),
    ],
)
def test_headings_start_at_h4(text, expected):
    assert render_markdown(text) == expected


def test_a_text_that_only_looks_like_headings_is_not_changed():
    page = render_markdown("`# not a heading`\n\n    # code\n\n\\# escaped")
    assert "<h" not in page.replace("<hr", "")
    assert "<code># not a heading</code>" in page
    assert "<pre><code># code\n</code></pre>" in page
    assert "<p># escaped</p>" in page


@pytest.mark.timeout(60)
def test_many_headings_render_in_linear_time():
    def seconds(n: int) -> float:
        start = time.perf_counter()
        page = render_markdown("# a\n" * n)
        assert page.count("<h4>a</h4>") == n
        return time.perf_counter() - start

    small, large = seconds(5_000), seconds(20_000)
    assert large < 8 * small + 0.05  # 4x the text: about 4x the time, never 16x


@pytest.mark.django_db
def test_the_task_page_keeps_one_h1_with_an_output_titled(
    client, make_project, annotator
):
    project = make_project(k=2, n_prompts=1, members=[annotator])
    candidate = Candidate.objects.filter(prompt__project=project).first()
    candidate.text = "# Big title\n\n## Section\n\nBody."
    candidate.save()
    assignment = assignment_next(project=project, annotator=annotator)
    client.force_login(annotator)
    html = client.get(
        reverse("annotate:task", args=[project.slug, assignment.pk])
    ).content.decode()
    assert len(re.findall(r"<h1[ >]", html)) == 1  # the page's own
    assert "<h4>Big title</h4>" in html and "<h5>Section</h5>" in html
    assert "<h2>Big title" not in html and "<h1>Big title" not in html
