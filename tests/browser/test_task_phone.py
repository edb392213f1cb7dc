"""On a 390×844 touch screen: tap an output, tap a rank, with the text in view."""

import re

import pytest
from playwright.sync_api import expect

from annotate.models import Annotation

pytestmark = pytest.mark.browser

PHONE = {
    "viewport": {"width": 390, "height": 844},
    "has_touch": True,
    "is_mobile": True,
    "device_scale_factor": 2,
}


@pytest.fixture
def project(make_project, annotator):
    return make_project(k=4, n_prompts=1, slug="phone", members=[annotator])


@pytest.fixture
def page(browser):
    """A page in a phone's context (pytest-playwright's own has a desktop's)."""
    context = browser.new_context(**PHONE)
    yield context.new_page()
    context.close()


def test_tap_tap_ranks_and_submits_on_a_phone(
    page, live_server, log_in, project, artifacts
):
    log_in(page, "ada_annotator", "pw-ada-123")
    page.goto(f"{live_server.url}/p/{project.slug}/label/")
    page.wait_for_url(re.compile(r".*/task/\d+/"))
    page.screenshot(path=artifacts / "task-phone-390x844-top.png")

    # Tap picks an output up and tap again lets it go.
    page.tap("#chip-A")
    expect(page.locator("#chip-A")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#rank-hint")).to_contain_text("Output A selected")
    page.tap("#chip-A")
    expect(page.locator("#chip-A")).to_have_attribute("aria-pressed", "false")
    page.tap("#bucket-2")  # nothing picked up: nothing moves
    expect(page.locator("#unranked #chip-A")).to_be_visible()

    for letter, rank in [("B", 1), ("A", 2), ("D", 3), ("C", 4)]:
        page.tap(f"#chip-{letter}")
        if letter == "C":
            page.screenshot(path=artifacts / "task-phone-390x844-picked-up.png")
        page.tap(f"#bucket-{rank}")
        expect(page.locator(f"#bucket-{rank} #chip-{letter}")).to_be_visible()
    expect(page.locator("#chip-A")).to_have_attribute(
        "aria-label", re.compile(r"^Output A, rank 2: Output \d to 0$")
    )
    expect(page.locator("#ranked-count")).to_have_text("4 of 4 ranked")

    for letter, rating in [("A", 5), ("B", 6), ("C", 2), ("D", 4)]:
        page.locator(f"#output-{letter} .likert label", has_text=str(rating)).tap()

    # Outputs and ranks share the screen, and nothing scrolls sideways.
    page.locator("#output-C").scroll_into_view_if_needed()
    panel = page.locator("#rank-panel").bounding_box()
    output = page.locator("#output-C").bounding_box()
    assert panel["y"] > 0 and panel["y"] + panel["height"] <= 844 + 1
    assert 0 <= output["y"] < panel["y"]
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=artifacts / "task-phone-390x844.png")

    page.tap("#rank-toggle")  # folds to one line, more text in view
    expect(page.locator("#rank-body")).to_be_hidden()
    assert page.locator("#rank-panel").bounding_box()["height"] < 80
    page.screenshot(path=artifacts / "task-phone-390x844-folded.png")
    page.tap("#rank-toggle")

    page.tap("#panel-submit")
    page.wait_for_url(lambda url: "/task/" not in url)
    annotation = Annotation.objects.get()
    order = annotation.assignment.display_order
    ranks = {j.candidate_id: j.rank for j in annotation.judgements.all()}
    assert [ranks[cid] for cid in order] == [2, 1, 4, 3]


def rank_and_rate_by_tapping(page, plan: list[tuple[str, int, int]]) -> None:
    for letter, rank, rating in plan:
        page.tap(f"#chip-{letter}")
        page.tap(f"#bucket-{rank}")
        page.locator(f"#output-{letter} .likert label", has_text=str(rating)).tap()


def test_keyboard_hints_are_hidden_on_a_touch_screen(
    page, live_server, log_in, project
):
    log_in(page, "ada_annotator", "pw-ada-123")
    page.goto(f"{live_server.url}/p/{project.slug}/label/")
    page.wait_for_url(re.compile(r".*/task/\d+/"))
    # A phone has no keyboard: no Ctrl+Enter on Submit, no shortcuts panel.
    expect(page.locator("#submit")).to_be_attached()
    expect(page.locator("#submit .key-hint")).to_be_hidden()
    expect(page.locator("#shortcuts")).to_be_hidden()
    expect(page.get_by_text("Keyboard shortcuts")).to_be_hidden()


def test_a_session_that_ends_mid_task_on_a_phone_loses_nothing(
    page, live_server, log_in, project, artifacts
):
    log_in(page, "ada_annotator", "pw-ada-123")
    page.goto(f"{live_server.url}/p/{project.slug}/label/")
    page.wait_for_url(re.compile(r".*/task/\d+/"))
    task_page_url = page.url
    rank_and_rate_by_tapping(page, [("C", 1, 7), ("A", 2, 5), ("D", 3, 4), ("B", 4, 2)])
    page.fill("#notes", "C answers the question")

    page.context.clear_cookies()  # as after logging out in another tab
    page.tap("#panel-submit")
    feedback = page.locator("#feedback")
    expect(feedback).to_contain_text("Your session has ended, so this was not saved.")
    # The message is on screen, above the rank panel, and the work stays as it was.
    page.wait_for_function(
        """() => {
          const box = document.getElementById("feedback").getBoundingClientRect();
          const panel = document.getElementById("rank-panel").getBoundingClientRect();
          return box.top >= 0 && box.bottom <= panel.top + 1;
        }""",
        timeout=3000,
    )
    page.screenshot(path=artifacts / "task-phone-390x844-session-ended.png")
    assert page.url == task_page_url
    assert Annotation.objects.count() == 0
    for letter, rank in [("C", 1), ("A", 2), ("D", 3), ("B", 4)]:
        expect(page.locator(f"#bucket-{rank} #chip-{letter}")).to_be_attached()
    expect(page.locator("#output-B .likert input[value='2']")).to_be_checked()
    expect(page.locator("#notes")).to_have_value("C answers the question")

    # Logging in again in the tab the message opens, then Submit again, stores it.
    with page.context.expect_page() as login_tab:
        page.tap("#login-again")
    log_in(login_tab.value, "ada_annotator", "pw-ada-123")
    page.bring_to_front()
    page.tap("#panel-submit")
    page.wait_for_url(lambda url: url != task_page_url)
    annotation = Annotation.objects.get()
    assert annotation.notes == "C answers the question"
    order = annotation.assignment.display_order
    judgements = {j.candidate_id: j for j in annotation.judgements.all()}
    assert [judgements[cid].rank for cid in order] == [2, 4, 1, 3]
    assert [judgements[cid].likert for cid in order] == [5, 2, 7, 4]
