"""The task page's skip form names its fields and errors in place; Back reloads it."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


@pytest.fixture
def project(make_project, annotator):
    return make_project(k=2, n_prompts=2, slug="skip-form", members=[annotator])


def open_task(page, live_server, project) -> None:
    page.goto(f"{live_server.url}/p/{project.slug}/label/")
    page.wait_for_url(re.compile(rf".*/p/{project.slug}/task/\d+/"))


def test_the_skip_reason_is_labelled_and_its_error_sits_beside_it(
    page, live_server, log_in, project, artifacts
):
    log_in(page, "ada_annotator", "pw-ada-123")
    open_task(page, live_server, project)
    page.keyboard.press("s")
    choice = page.get_by_label("Why skip this task?")
    details = page.get_by_label("Details (required for Other)")
    expect(choice).to_be_focused()
    error = page.locator("#skip-form #skip-error")

    page.get_by_role("button", name="Skip task").click()
    expect(error).to_have_text("Choose a reason, or write one in Details.")
    expect(choice).to_have_attribute("aria-invalid", "true")
    expect(choice).to_have_accessible_description(
        "Choose a reason, or write one in Details."
    )
    expect(page.locator("#feedback")).to_be_empty()

    choice.select_option("Other")
    expect(error).to_be_hidden()
    page.get_by_role("button", name="Skip task").click()
    expect(error).to_have_text("Write your reason in Details.")
    expect(details).to_be_focused()
    expect(details).to_have_attribute("aria-invalid", "true")
    page.locator("#skip-form").screenshot(path=str(artifacts / "task-skip-error.png"))

    details.fill("\u200b\u200b")  # the server's check: nothing readable
    page.get_by_role("button", name="Skip task").click()
    expect(error).to_contain_text("has nothing readable")
    expect(page.locator("#feedback")).to_be_empty()

    details.fill("The prompt asks about a product I do not know")
    expect(error).to_be_hidden()
    page.get_by_role("button", name="Skip task").click()
    page.wait_for_url(re.compile(r".*/p/skip-form/task/\d+/"))


def test_a_page_back_from_the_cache_reloads(page, live_server, log_in, project):
    log_in(page, "ada_annotator", "pw-ada-123")
    open_task(page, live_server, project)
    page.locator("#output-A .likert label", has_text="5").click()
    page.evaluate("window.stale = true")
    with page.expect_navigation():
        page.evaluate(
            "window.dispatchEvent(new PageTransitionEvent('pageshow', "
            "{persisted: true}))"
        )
    assert page.evaluate("window.stale === undefined")
