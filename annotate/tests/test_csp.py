"""Every page carries a Content-Security-Policy that allows no inline script, and no
page relies on one: each script is a static file (or json_script data)."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import reverse

from annotate.services import assignment_next, candidate_create

pytestmark = pytest.mark.django_db

POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
ADMIN_POLICY = POLICY.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
HOSTILE_OUTPUT = (
    "<script>alert(1)</script> <img src=x onerror=alert(2)> "
    "![tracker](https://evil.example/pixel.png) [link](javascript:alert(3))"
)


class InlineCode(HTMLParser):
    """What a strict CSP would block in a page: inline scripts, handlers, styles."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str] = []  # inline <script> bodies that would run
        self.handlers: list[str] = []  # on*= attributes and javascript: URLs
        self.styles: list[str] = []  # style="" attributes and <style> blocks
        self.external_scripts: list[str] = []
        self._in_script: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        for name, value in attrs:
            if name.startswith("on") or (value or "").strip().startswith("javascript:"):
                self.handlers.append(f"<{tag} {name}={value!r}>")
        if "style" in named:
            self.styles.append(f"<{tag} style={named['style']!r}>")
        if tag == "style":
            self.styles.append("<style>")
        if tag == "script":
            self._in_script = named
            if named.get("src"):
                self.external_scripts.append(named["src"] or "")

    def handle_data(self, data: str) -> None:
        script = self._in_script
        if script is None or script.get("src") or not data.strip():
            return
        if script.get("type") != "application/json":  # json_script: data, not code
            self.scripts.append(data.strip()[:80])

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = None


def inline_code(html: str) -> InlineCode:
    parser = InlineCode()
    parser.feed(html)
    return parser


@pytest.fixture
def project(make_project, annotator, lead):
    project = make_project(k=2, n_prompts=2, members=[annotator])
    for prompt in project.prompts.all():
        candidate_create(prompt=prompt, text=HOSTILE_OUTPUT, source="evil")
    return project


def site_pages(project, annotator) -> dict[str, str]:
    task = assignment_next(project=project, annotator=annotator)
    assert task is not None
    return {
        "home": reverse("annotate:home"),
        "task": reverse("annotate:task", args=[project.slug, task.pk]),
        "skip page": reverse("annotate:skip_page", args=[project.slug, task.pk]),
        "api docs": reverse("api-docs"),
        "not found": "/no/such/page/",
    }


def test_site_pages_have_the_strict_policy_and_no_inline_code(project, annotator):
    browser = Client()
    assert browser.get(reverse("login"))["Content-Security-Policy"] == POLICY
    browser.force_login(annotator)
    for name, url in site_pages(project, annotator).items():
        page = browser.get(url)
        assert page.status_code in (200, 404), name
        assert page["Content-Security-Policy"] == POLICY, name
        found = inline_code(page.content.decode())
        assert found.scripts == [], name
        assert found.handlers == [], name
        assert found.styles == [], name


def test_pages_load_their_scripts_as_static_files(project, annotator):
    browser = Client()
    browser.force_login(annotator)
    pages = site_pages(project, annotator)
    task = inline_code(browser.get(pages["task"]).content.decode())
    assert task.external_scripts == ["/static/annotate/task.js"]
    docs = browser.get(pages["api docs"]).content.decode()
    assert inline_code(docs).external_scripts == ["/static/api/docs.js"]
    assert 'data-schema-url="/api/schema/?format=json"' in docs


def test_lead_pages_have_no_inline_code(project, lead):
    browser = Client()
    browser.force_login(lead)
    for url in (
        reverse("annotate:project", args=[project.slug]),
        reverse("annotate:project_export", args=[project.slug]),
    ):
        page = browser.get(url)
        assert page.status_code == 200, url
        assert page["Content-Security-Policy"] == POLICY
        found = inline_code(page.content.decode())
        assert (found.scripts, found.handlers, found.styles) == ([], [], []), url


def test_the_admin_runs_no_inline_script_and_only_it_may_style_inline(
    project, django_user_model
):
    boss = django_user_model.objects.create_superuser("boss", password="pw-boss-123")
    browser = Client()
    assert browser.get("/admin/login/")["Content-Security-Policy"] == ADMIN_POLICY
    browser.force_login(boss)
    for url in (
        "/admin/",
        "/admin/annotate/project/",
        f"/admin/annotate/project/{project.pk}/change/",
        "/admin/annotate/project/add/",
        "/admin/annotate/candidate/",
        "/admin/training/round/",
        "/admin/training/round/launch/",
        "/admin/auth/user/add/",
    ):
        page = browser.get(url)
        assert page.status_code == 200, url
        assert page["Content-Security-Policy"] == ADMIN_POLICY, url
        found = inline_code(page.content.decode())
        assert found.scripts == [], url
        assert found.handlers == [], url


def test_api_answers_carry_the_policy_too(annotator):
    browser = Client()
    browser.force_login(annotator)
    answer = browser.get("/api/v1/projects/", HTTP_ACCEPT="application/json")
    assert answer.status_code == 200
    assert "script-src 'self';" in answer["Content-Security-Policy"]
