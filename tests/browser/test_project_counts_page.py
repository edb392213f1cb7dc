"""The lead's project page shows the right numbers after known work in the browser."""

import re

import pytest
from playwright.sync_api import Page, expect

from training.tests.fixtures_rounds import rank_open_tasks

pytestmark = pytest.mark.browser


@pytest.fixture
def project(make_project, annotator, other_annotator):
    return make_project(
        k=3,
        n_prompts=4,
        slug="counts",
        members=[annotator, other_annotator],
        annotations_per_prompt=2,
    )


def submit_next_by_keyboard(page: Page, live_server, project) -> None:
    page.goto(f"{live_server.url}/p/{project.slug}/label/")
    page.wait_for_url(re.compile(r".*/task/\d+/"))
    task_url = page.url
    for letter, rank, rating in [("a", 1, 6), ("b", 2, 4), ("c", 3, 2)]:
        page.keyboard.press(letter)
        page.keyboard.press(str(rank))
        page.keyboard.press(f"Shift+Digit{rating}")
    page.keyboard.press("Control+Enter")
    page.wait_for_url(lambda url: url != task_url)


def row_values(page: Page, username: str) -> dict[str, str]:
    row = page.locator(
        "tr.annotator-row", has=page.locator(f"th:text-is('{username}')")
    )
    cells = ("submitted", "skipped", "open", "comparisons", "median-time")
    return {cell: row.locator(f"td.{cell}").inner_text() for cell in cells}


def test_counts_page_values_after_known_submissions(
    page, browser, live_server, log_in, project, other_annotator, artifacts
):
    log_in(page, "ada_annotator", "pw-ada-123")
    submit_next_by_keyboard(page, live_server, project)
    submit_next_by_keyboard(page, live_server, project)
    page.goto(f"{live_server.url}/p/{project.slug}/label/")
    page.wait_for_url(re.compile(r".*/task/\d+/"))
    page.click("#skip-open")
    page.select_option("#skip-reason-choice", "I can't judge this topic")
    page.click("#skip-confirm")
    page.wait_for_url(re.compile(r".*/task/\d+/"))  # the next task: left open
    rank_open_tasks(project, other_annotator, limit=1)  # through the service: untimed

    lead = browser.new_context().new_page()
    log_in(lead, "lena_lead", "pw-lead-123")
    lead.goto(f"{live_server.url}/p/{project.slug}/")
    lead.screenshot(path=artifacts / "project-counts.png", full_page=True)
    expect(lead.locator("#count-prompts")).to_have_text("4")
    expect(lead.locator("#count-candidates")).to_have_text("12")
    expect(lead.locator("#count-annotations")).to_have_text("3")
    expect(lead.locator("#count-skipped")).to_have_text("1")
    expect(lead.locator("#count-comparisons")).to_have_text("9")  # 3 rankings of K=3

    ada = row_values(lead, "ada_annotator")
    assert re.fullmatch(r"\d+", ada.pop("median-time"))  # seconds, as timed by the page
    assert ada == {"submitted": "2", "skipped": "1", "open": "1", "comparisons": "6"}
    assert row_values(lead, "otto_annotator") == {
        "submitted": "1",
        "skipped": "0",
        "open": "0",
        "comparisons": "3",
        "median-time": "–",
    }
    lead.context.close()
