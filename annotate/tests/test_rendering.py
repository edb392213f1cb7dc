"""What annotators see of Markdown: formatted, sanitised, nothing remote, all of it."""

from __future__ import annotations

import html
import re

import pytest
from django.urls import reverse

from annotate.models import Candidate
from annotate.rendering import render_markdown
from annotate.services import candidate_create, prompt_create

N = 20_000  # characters of each pathological input


def visible_text(page: str) -> str:
    """The text a browser shows: tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", page)).strip()


def test_chat_model_markdown_is_formatted():
    text = (
        "# Plan\n\n**Bold**, *italic*, ~~gone~~ and `code`.\n\n"
        "- one\n- two\n\n1. first\n2. second\n\n"
        "```python\nif a < b:\n    pass\n```\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n"
        "> quoted\n\n[docs](https://example.org/docs)"
    )
    page = render_markdown(text)
    for fragment in (
        "<h4>Plan</h4>",  # headings start at h4, below the page's own
        "<strong>Bold</strong>",
        "<em>italic</em>",
        "<s>gone</s>",
        "<code>code</code>",
        "<li>one</li>",
        "<ol>\n<li>first</li>",
        "<pre><code>if a &lt; b:\n    pass\n</code></pre>",
        "<th>a</th>",
        "<td>2</td>",
        "<blockquote>\n<p>quoted</p>",
        '<a href="https://example.org/docs" rel="noopener noreferrer">docs</a>',
    ):
        assert fragment in page


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        '<img src="http://tracker.example/p.png">',
        '<a href="javascript:alert(1)">x</a>',
        "<iframe src=http://e.example></iframe>",
        '<div onclick="alert(1)">x</div>',
    ],
)
def test_raw_html_is_shown_as_text(text):
    page = render_markdown(text)
    assert "<" not in page.removeprefix("<p>").removesuffix("</p>\n")
    assert visible_text(page) == text


def test_images_become_links_and_nothing_remote_loads():
    page = render_markdown(
        "![chart](http://tracker.example/pixel.png)\n\n"
        "![](https://tracker.example/empty.png)\n\n"
        "![ref][pic]\n\n[pic]: http://tracker.example/ref.png"
    )
    assert "<img" not in page
    assert (
        '<a href="http://tracker.example/pixel.png" rel="noopener noreferrer">'
        "image: chart</a>"
    ) in page
    assert "image: https://tracker.example/empty.png</a>" in page
    assert '<a href="http://tracker.example/ref.png"' in page


def test_script_links_are_not_links():
    page = render_markdown("[click](javascript:alert(1)) and [x](vbscript:y)")
    assert "href" not in page
    assert visible_text(page) == "[click](javascript:alert(1)) and [x](vbscript:y)"


# Inputs that took python-markdown minutes; each shows exactly as written.
@pytest.mark.timeout(120)  # a guard against a quadratic renderer, not a speed goal
@pytest.mark.parametrize(
    "unit", ["[", "![", "[a](", "](", "[]", "<", "<a ", "<!--", "&#", "_a", "|"]
)
def test_pathological_inputs_show_as_written(unit):
    text = (unit * N)[:N]
    assert visible_text(render_markdown(text)) == text


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("`a" * 10_000, "<p>" + "<code>a</code>a" * 5_000 + "</p>\n"),
        ("*a" * 10_000, "<p>" + "<em>a</em>a" * 5_000 + "</p>\n"),
        ("**a" * 6_666, "<p>" + "<strong>a</strong>a" * 3_333 + "</p>\n"),
        ("*" * N, "<hr>\n"),
        ("`" * N, "<pre><code></code></pre>\n"),
    ],
)
def test_pathological_markup_renders_as_markdown_says(text, expected):
    assert render_markdown(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "> " * 1000 + "the hidden end",
        ">" * N,
        "\n".join("  " * depth + f"- level {depth}" for depth in range(12)),
    ],
)
def test_nesting_the_parser_would_cut_is_shown_whole_as_written(text):
    page = render_markdown(text)
    assert page == f"<pre>{html.escape(text)}</pre>"


def test_ordinary_nesting_stays_formatted():
    text = "\n".join("  " * depth + f"- level {depth}" for depth in range(9))
    page = render_markdown(text)
    assert page.count("<ul>") == 9 and "level 8" in page


@pytest.mark.django_db
def test_html_is_stored_when_saved_and_re_rendered_when_edited(make_project):
    project = make_project(k=2, n_prompts=1, instructions="Be **kind**.")
    assert project.instructions_html == "<p>Be <strong>kind</strong>.</p>\n"
    prompt = project.prompts.get()
    candidate, _ = candidate_create(prompt=prompt, text="*Yes*", source="m9")
    assert candidate.html == "<p><em>Yes</em></p>\n"
    candidate.text = "`No`"
    candidate.save()
    assert Candidate.objects.get(pk=candidate.pk).html == "<p><code>No</code></p>\n"


@pytest.mark.django_db
def test_the_task_page_shows_the_rendered_outputs_and_instructions(
    client, annotator, make_project
):
    project = make_project(
        k=0, n_prompts=0, members=[annotator], instructions="Read **everything**."
    )
    prompt, _ = prompt_create(project=project, text="Draw a chart.")
    for text in ("Here: ![chart](http://tracker.example/p.png)", "**No** chart."):
        candidate_create(prompt=prompt, text=text, source="m")
    # A row written around save(), as bulk writes do, is rendered on the page.
    Candidate.objects.filter(text="**No** chart.").update(html="")
    client.force_login(annotator)
    page = client.get(reverse("annotate:label", args=[project.slug]), follow=True)
    shown = page.content.decode()
    assert page.status_code == 200
    assert "<strong>everything</strong>" in shown
    assert "<strong>No</strong> chart." in shown
    assert 'href="http://tracker.example/p.png" rel="noopener noreferrer">' in shown
    assert "image: chart</a>" in shown
    assert "<img" not in shown and 'src="http' not in shown


@pytest.mark.django_db
def test_the_lead_page_shows_the_rendered_instructions(client, lead, make_project):
    project = make_project(k=2, n_prompts=1, instructions="Prefer *short* answers.")
    client.force_login(lead)
    page = client.get(reverse("annotate:project", args=[project.slug]))
    assert "<p>Prefer <em>short</em> answers.</p>" in page.content.decode()
