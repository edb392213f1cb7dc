"""The task page keeps a draft on the server: reload, a second tab, an ended session."""

import re

import pytest
from playwright.sync_api import expect

from annotate.models import Annotation, Assignment

pytestmark = pytest.mark.browser


@pytest.fixture
def project(make_project, annotator):
    return make_project(k=4, n_prompts=1, slug="drafts", members=[annotator])


def open_task(page, live_server, project) -> Assignment:
    page.goto(f"{live_server.url}/p/{project.slug}/label/")
    page.wait_for_url(re.compile(rf".*/p/{project.slug}/task/\d+/"))
    return Assignment.objects.get(pk=int(page.url.rstrip("/").split("/")[-1]))


def rate(page, letter: str, rating: int) -> None:
    page.locator(f"#output-{letter} .likert label", has_text=str(rating)).click()


def test_reload_restores_the_draft_and_submit_clears_it(
    page, live_server, log_in, project
):
    log_in(page, "ada_annotator", "pw-ada-123")
    assignment = open_task(page, live_server, project)
    a, b, c, d = assignment.display_order

    # Drag still ranks on the desktop.
    page.locator("#chip-C").drag_to(page.locator("#bucket-1"))
    page.locator("#chip-A").drag_to(page.locator("#bucket-3"))
    rate(page, "C", 6)
    page.locator("#output-B .flags summary").click()
    page.locator("#output-B .flags label", has_text="Gives harmful advice").click()
    page.fill("#notes", "B is risky")
    expect(page.locator("#draft-status")).to_contain_text("Draft saved at")

    assignment.refresh_from_db()
    assert assignment.draft["ranking"] == [[c], [], [a]]
    assert assignment.draft["likert"] == {str(c): 6}
    assert assignment.status == "open"
    assert not Annotation.objects.exists()

    page.reload()
    expect(page.locator("#draft-status")).to_have_text("Your draft was restored.")
    expect(page.locator("#bucket-1 #chip-C")).to_be_visible()
    expect(page.locator("#bucket-3 #chip-A")).to_be_visible()
    expect(page.locator("#chip-A")).to_have_attribute(
        "aria-label", re.compile(r"^Output A, rank 3: ")
    )
    expect(page.locator("#output-C .likert input[value='6']")).to_be_checked()
    expect(
        page.locator("#output-B .flags input[value='harmful_advice']")
    ).to_be_checked()
    expect(page.locator("#notes")).to_have_value("B is risky")
    expect(page.locator("#ranked-count")).to_have_text("2 of 4 ranked")

    for letter, rank, rating in [("b", 2, 5), ("d", 4, 2)]:
        page.keyboard.press(letter)
        page.keyboard.press(str(rank))
        page.keyboard.press(f"Shift+Digit{rating}")
    rate(page, "A", 4)
    page.click("#submit")
    page.wait_for_url(lambda url: f"/task/{assignment.pk}/" not in url)

    assignment.refresh_from_db()
    assert assignment.draft is None
    annotation = Annotation.objects.get(assignment=assignment)
    assert annotation.notes == "B is risky"
    assert {j.candidate_id: j.rank for j in annotation.judgements.all()} == {
        c: 1,
        b: 2,
        a: 3,
        d: 4,
    }


def test_a_stale_tab_does_not_overwrite_the_newer_draft(
    page, live_server, log_in, project
):
    log_in(page, "ada_annotator", "pw-ada-123")
    assignment = open_task(page, live_server, project)
    other = page.context.new_page()
    other.goto(page.url)

    page.fill("#notes", "written in the first tab")
    expect(page.locator("#draft-status")).to_contain_text("Draft saved at")
    other.fill("#notes", "written in the stale tab")
    expect(other.locator("#draft-status")).to_contain_text(
        "A newer draft of this task was saved in another tab or device."
    )
    assignment.refresh_from_db()
    assert assignment.draft["notes"] == "written in the first tab"

    other.get_by_role("button", name="keep this page's version").click()
    expect(other.locator("#draft-status")).to_contain_text("Draft saved at")
    assignment.refresh_from_db()
    assert assignment.draft["notes"] == "written in the stale tab"


def test_a_draft_save_after_the_session_ended_keeps_the_work_on_the_page(
    page, live_server, log_in, project
):
    log_in(page, "ada_annotator", "pw-ada-123")
    assignment = open_task(page, live_server, project)
    page.fill("#notes", "before")
    expect(page.locator("#draft-status")).to_contain_text("Draft saved at")

    page.context.clear_cookies()  # as after logging out in another tab
    page.locator("#chip-D").drag_to(page.locator("#bucket-1"))
    expect(page.locator("#draft-status")).to_contain_text(
        "Your session has ended, so the draft is not saved"
    )
    expect(page.locator("#bucket-1 #chip-D")).to_be_visible()
    assignment.refresh_from_db()
    assert assignment.draft["ranking"] == []

    log_in(page.context.new_page(), "ada_annotator", "pw-ada-123")
    page.bring_to_front()
    rate(page, "D", 7)
    expect(page.locator("#draft-status")).to_contain_text("Draft saved at")
    assignment.refresh_from_db()
    d = assignment.display_order[3]
    assert assignment.draft["ranking"] == [[d]]
    assert assignment.draft["likert"] == {str(d): 7}
    assert assignment.draft["notes"] == "before"
