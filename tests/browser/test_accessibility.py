"""axe-core finds no serious WCAG 2.2 A/AA violation on the annotator's pages."""

import re

import pytest
from axe_playwright_python.base import AXE_SCRIPT
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
OVERLAP = "could not be determined because it partially overlaps"
# An element cut by the edge of the screen or of a scrolling rank panel (a long page,
# K=9): axe cannot see all of its background, and checks it where it is shown whole.
CUT_OFF = "because it's partially obscured by another element"
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "has_touch": True,
    "is_mobile": True,
    "device_scale_factor": 2,
}


@pytest.fixture
def project(make_project, annotator):
    return make_project(k=4, n_prompts=1, slug="a11y", members=[annotator])


def serious_violations(page: Page) -> list[str]:
    """Run the bundled axe-core on the page: a line per serious or critical finding."""
    # Playwright's evaluate runs over the DevTools protocol, which the page's CSP
    # (script-src 'self') does not govern, so the page is tested as it is served.
    page.evaluate(AXE_SCRIPT)
    results = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_TAGS
    )
    # "incomplete" is what axe could not decide, such as unranked chips' contrast over
    # the tray: it counts too, except text under the phone's fixed rank panel, whose
    # background axe cannot tell from the page scrolling beneath it, and text cut off.
    found = []
    for kind in ("violations", "incomplete"):
        for rule in results[kind]:
            nodes = [
                f"{' '.join(node['target'])} ({node['failureSummary']})"
                for node in rule["nodes"]
                if kind == "violations"
                or not any(why in node["failureSummary"] for why in (OVERLAP, CUT_OFF))
            ]
            if rule["impact"] in ("serious", "critical") and nodes:
                found.append(f"{kind} {rule['id']} ({rule['impact']}): {nodes}")
    return found


def open_task(page: Page, live_server, project) -> None:
    page.goto(f"{live_server.url}/p/{project.slug}/label/")
    page.wait_for_url(re.compile(r".*/task/\d+/"))


def check_task_page(page: Page, live_server, log_in, project, artifacts, name: str):
    log_in(page, "ada_annotator", "pw-ada-123")
    open_task(page, live_server, project)
    assert serious_violations(page) == []
    # Mid-task: some outputs ranked and rated, one picked up, flags and skip form open.
    page.click("#chip-B")
    page.click("#bucket-1")
    page.click("#chip-A")
    page.locator("#output-A .flags summary").click()
    page.locator("#output-B .likert label").nth(5).click()
    page.click("#skip-open")
    expect(page.locator("#chip-B")).to_have_accessible_name(
        re.compile(r"^Output B, rank 1: Output \d to 0$")
    )
    assert serious_violations(page) == []
    page.screenshot(path=artifacts / f"a11y-task-{name}.png", full_page=True)


def test_task_page_on_a_desktop(page, live_server, log_in, project, artifacts):
    page.set_viewport_size({"width": 1400, "height": 1000})
    check_task_page(page, live_server, log_in, project, artifacts, "1400x1000")


def test_task_page_on_a_phone(browser, live_server, log_in, project, artifacts):
    context = browser.new_context(**PHONE)
    try:
        page = context.new_page()
        check_task_page(page, live_server, log_in, project, artifacts, "390x844")
    finally:
        context.close()


def test_task_page_names_outputs_ratings_and_landmarks(
    page, live_server, log_in, project
):
    log_in(page, "ada_annotator", "pw-ada-123")
    open_task(page, live_server, project)
    expect(page.locator("h1")).to_have_count(1)
    expect(page.locator("h1")).to_have_accessible_name(
        re.compile(r"^Task \d+ in Project a11y$")
    )
    # The chip's name has its place and its output's first words.
    expect(page.locator("#chip-C")).to_have_accessible_name(
        re.compile(r"^Output C, unranked: Output \d to 0$")
    )
    # The rating's words are on the screen, not only in a tooltip.
    expect(page.locator("#output-A .likert")).to_contain_text("1 Terrible")
    # The skip link is the first stop and lands on the task.
    page.keyboard.press("Tab")
    skip = page.locator(".skip-link")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()
    skip.press("Enter")
    assert page.evaluate("location.hash") == "#content"


def test_home_and_login_pages(page, live_server, log_in, project):
    page.goto(f"{live_server.url}/accounts/login/")
    assert serious_violations(page) == []
    log_in(page, "ada_annotator", "pw-ada-123")
    assert serious_violations(page) == []
