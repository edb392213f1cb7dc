"""An annotator labels in Chromium by mouse, by keyboard only, and by touch."""

import re

import pytest
from playwright.sync_api import expect

from annotate.models import Annotation, Assignment, Comparison, Judgement

pytestmark = pytest.mark.browser


@pytest.fixture
def project(make_project, annotator):
    return make_project(k=4, n_prompts=2, slug="browser", members=[annotator])


def task_url(live_server, project):
    return re.compile(rf"{re.escape(live_server.url)}/p/{project.slug}/task/\d+/")


def open_queue(page, live_server, project):
    page.goto(f"{live_server.url}/p/{project.slug}/label/")
    page.wait_for_url(task_url(live_server, project))
    return Assignment.objects.get(pk=int(page.url.rstrip("/").split("/")[-1]))


def test_rank_by_mouse_then_by_keyboard_only(
    page, live_server, log_in, project, artifacts
):
    log_in(page, "ada_annotator", "pw-ada-123")
    first = open_queue(page, live_server, project)

    page.click("#submit")
    expect(page.locator("#feedback")).to_contain_text("A, B, C, D not ranked yet")

    # Mouse: drag D and C into a shared bucket (a tie), A and B into their own.
    for letter, rank in [("A", 1), ("B", 2), ("C", 3), ("D", 3)]:
        page.locator(f"#chip-{letter}").drag_to(page.locator(f"#bucket-{rank}"))
    for letter, rating in [("A", 7), ("B", 5), ("C", 3), ("D", 3)]:
        page.locator(f"#output-{letter} .likert label", has_text=str(rating)).click()
    page.locator("#output-D .flags summary").click()
    page.locator("#output-D .flags label", has_text="Gives harmful advice").click()
    page.fill("#notes", "D suggests something unsafe")
    expect(page.locator("#output-D .rank-badge")).to_have_text("Rank 3")
    page.screenshot(path=artifacts / "labeling-mouse.png", full_page=True)
    page.click("#submit")
    page.wait_for_url(lambda url: f"/task/{first.pk}/" not in url)

    annotation = Annotation.objects.get(assignment=first)
    judgements = {
        j.candidate_id: j for j in Judgement.objects.filter(annotation=annotation)
    }
    a, b, c, d = first.display_order
    assert [judgements[x].rank for x in (a, b, c, d)] == [1, 2, 3, 3]
    assert [judgements[x].likert for x in (a, b, c, d)] == [7, 5, 3, 3]
    assert judgements[d].flags == ["harmful_advice"]
    assert annotation.notes == "D suggests something unsafe"
    assert (
        Comparison.objects.filter(annotation=annotation).count() == 5
    )  # 6 pairs − 1 tie

    # Keyboard only: letter selects, digit ranks, Shift+digit rates, X opens flags.
    second = Assignment.objects.get(annotator=first.annotator, status="open")
    for letter, rank, rating in [("a", 4, 1), ("b", 3, 2), ("c", 2, 4), ("d", 1, 6)]:
        page.keyboard.press(letter)
        page.keyboard.press(str(rank))
        page.keyboard.press(f"Shift+Digit{rating}")
    page.keyboard.press("a")
    page.keyboard.press("x")
    page.keyboard.press("Space")  # the first flag: fails to follow the instruction
    page.keyboard.press("n")
    page.keyboard.type("A ignores the question")
    page.keyboard.press("Escape")
    page.screenshot(path=artifacts / "labeling-keyboard.png", full_page=True)
    page.keyboard.press("Control+Enter")
    expect(page.get_by_role("heading", name="Nothing left to label")).to_be_visible()

    annotation = Annotation.objects.get(assignment=second)
    judgements = {
        j.candidate_id: j for j in Judgement.objects.filter(annotation=annotation)
    }
    a, b, c, d = second.display_order
    assert [judgements[x].rank for x in (a, b, c, d)] == [4, 3, 2, 1]
    assert [judgements[x].likert for x in (a, b, c, d)] == [1, 2, 4, 6]
    assert judgements[a].flags == ["fails_instruction"]
    assert annotation.notes == "A ignores the question"
    assert Comparison.objects.filter(annotation=annotation).count() == 6


def test_contradicting_ratings_warn_and_skip_needs_a_reason(
    page, live_server, log_in, project
):
    log_in(page, "ada_annotator", "pw-ada-123")
    first = open_queue(page, live_server, project)
    for letter, rank, rating in [("a", 1, 2), ("b", 2, 6), ("c", 3, 4), ("d", 4, 1)]:
        page.keyboard.press(letter)
        page.keyboard.press(str(rank))
        page.keyboard.press(f"Shift+Digit{rating}")
    page.click("#submit")
    expect(page.locator("#feedback")).to_contain_text(
        "A is ranked above B but rated lower"
    )
    assert not Annotation.objects.filter(assignment=first).exists()
    page.click("#submit-anyway")
    page.wait_for_url(lambda url: f"/task/{first.pk}/" not in url)
    assert Annotation.objects.get(assignment=first).comparisons.count() == 6

    second = Assignment.objects.get(annotator=first.annotator, status="open")
    page.keyboard.press("s")
    page.click("#skip-confirm")
    expect(page.locator("#skip-error")).to_contain_text("Choose a reason")
    page.select_option("#skip-reason-choice", "The prompt is unclear or broken")
    page.click("#skip-confirm")
    expect(page.get_by_role("heading", name="Nothing left to label")).to_be_visible()
    second.refresh_from_db()
    assert second.status == "skipped"
    assert second.annotation.skip_reason == "The prompt is unclear or broken"


@pytest.mark.parametrize("browser_context_args", [{"has_touch": True}], indirect=True)
def test_touch_drag_places_an_output(page, live_server, log_in, project):
    log_in(page, "ada_annotator", "pw-ada-123")
    open_queue(page, live_server, project)
    target = page.locator("#bucket-2").bounding_box()
    page.evaluate(
        """([x, y]) => {
          const chip = document.getElementById("chip-B");
          const box = chip.getBoundingClientRect();
          const touch = (cx, cy) => new Touch({identifier: 1, target: chip,
            clientX: cx, clientY: cy});
          const start = touch(box.x + 5, box.y + 5), end = touch(x, y);
          chip.dispatchEvent(new TouchEvent("touchstart", {touches: [start],
            changedTouches: [start], bubbles: true}));
          chip.dispatchEvent(new TouchEvent("touchmove", {touches: [end],
            changedTouches: [end], bubbles: true, cancelable: true}));
          chip.dispatchEvent(new TouchEvent("touchend", {touches: [],
            changedTouches: [end], bubbles: true}));
        }""",
        [target["x"] + target["width"] - 20, target["y"] + target["height"] / 2],
    )
    expect(page.locator("#bucket-2 #chip-B")).to_be_visible()
    expect(page.locator("#output-B .rank-badge")).to_have_text("Rank 2")


def test_a_submit_after_the_session_ended_keeps_the_work_until_logged_in_again(
    page, live_server, log_in, project, artifacts
):
    log_in(page, "ada_annotator", "pw-ada-123")
    first = open_queue(page, live_server, project)
    for letter, rank, rating in [("a", 1, 6), ("b", 2, 5), ("c", 3, 4), ("d", 4, 3)]:
        page.keyboard.press(letter)
        page.keyboard.press(str(rank))
        page.keyboard.press(f"Shift+Digit{rating}")
    page.fill("#notes", "B is close to A")
    task_page_url = page.url

    page.context.clear_cookies()  # as after logging out in another tab
    page.click("#submit")
    expect(page.locator("#feedback")).to_contain_text(
        "Your session has ended, so this was not saved."
    )
    expect(page.locator("#login-again")).to_have_attribute("target", "_blank")
    page.screenshot(path=artifacts / "labeling-session-ended.png", full_page=True)
    assert page.url == task_page_url
    assert Annotation.objects.count() == 0
    expect(page.locator("#bucket-1 #chip-A")).to_be_visible()
    expect(page.locator("#bucket-4 #chip-D")).to_be_visible()
    expect(page.locator("#notes")).to_have_value("B is close to A")

    log_in(page.context.new_page(), "ada_annotator", "pw-ada-123")
    page.click("#submit")
    page.wait_for_url(lambda url: f"/task/{first.pk}/" not in url)
    annotation = Annotation.objects.get(assignment=first)
    assert annotation.notes == "B is close to A"
    assert annotation.comparisons.count() == 6
