"""Under the Content-Security-Policy, Chromium runs every script the site needs: the
labeling screen (drag-to-rank, submit), the API page and the admin's own scripts,
and reports no violation."""

import re

import pytest
from playwright.sync_api import expect

from annotate.models import Annotation, Assignment, Judgement

pytestmark = pytest.mark.browser


@pytest.fixture
def project(make_project, annotator):
    return make_project(k=4, n_prompts=1, slug="csp", members=[annotator])


def violations(page) -> list[str]:
    """Console messages of blocked content, and the policy violation events."""
    found: list[str] = []
    page.on(
        "console",
        lambda message: (
            found.append(message.text)
            if "Content Security Policy" in message.text
            else None
        ),
    )
    page.on("pageerror", lambda error: found.append(str(error)))
    return found


def test_labeling_api_docs_and_admin_work_under_the_policy(
    page, live_server, log_in, project, annotator, django_user_model
):
    blocked = violations(page)
    log_in(page, "ada_annotator", "pw-ada-123")
    response = page.goto(f"{live_server.url}/p/{project.slug}/label/")
    page.wait_for_url(re.compile(rf".*/p/{project.slug}/task/\d+/"))
    assert response is not None
    assert "script-src 'self';" in response.headers["content-security-policy"]
    task = Assignment.objects.get(annotator=annotator)

    for letter, rank, rating in [("A", 1, 7), ("B", 2, 5), ("C", 3, 3), ("D", 4, 1)]:
        page.locator(f"#chip-{letter}").drag_to(page.locator(f"#bucket-{rank}"))
        page.locator(f"#output-{letter} .likert label", has_text=str(rating)).click()
    expect(page.locator("#output-D .rank-badge")).to_have_text("Rank 4")
    page.click("#submit")
    expect(page.get_by_role("heading", name="Nothing left to label")).to_be_visible()
    annotation = Annotation.objects.get(assignment=task)
    ranks = dict(
        Judgement.objects.filter(annotation=annotation).values_list(
            "candidate_id", "rank"
        )
    )
    assert [ranks[c] for c in task.display_order] == [1, 2, 3, 4]

    page.goto(f"{live_server.url}/api/docs/")
    expect(page.locator("details.op").first).to_be_visible()

    django_user_model.objects.create_superuser("boss", password="pw-boss-123")
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", "pw-boss-123")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    page.goto(f"{live_server.url}/admin/annotate/prompt/")
    page.click("#action-toggle")  # the admin's actions.js ticks every row
    expect(page.locator("input.action-select").first).to_be_checked()
    assert blocked == []
