"""Ranking text, not letters: chips carry their output's first words; at K=9 on a
1440×900 desktop every rank and Submit are on screen without a nested scroll."""

import re

import pytest
from playwright.sync_api import Page, expect

from annotate.models import Annotation, Assignment, Candidate
from tests.browser.test_accessibility import serious_violations

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1440, "height": 900}
# Outputs as a chat model writes them: a heading, paragraphs, long enough to clip.
OPENINGS = [
    "Paris is the capital of France, and has been since the tenth century",
    "The capital of France is Paris; Lyon and Marseille are the next largest",
    "I think it is Paris, though I am not sure about the history",
    "France's seat of government is Paris, on the Seine",
    "Paris. It is also the largest city in the country by population",
    "Marseille is the capital of France",
    "Bonjour! The answer you are looking for is Paris",
    "Capital cities: France has Paris, Spain has Madrid, Italy has Rome",
    "Sorry, I cannot help with that question",
]


@pytest.fixture
def project(make_project, annotator):
    project = make_project(k=9, n_prompts=1, slug="nine", members=[annotator])
    for candidate, opening in zip(
        Candidate.objects.filter(prompt__project=project).order_by("id"),
        OPENINGS,
        strict=True,
    ):
        candidate.text = f"# Answer\n\n{opening}.\n\n" + "More detail. " * 60
        candidate.save()
    return project


def open_task(page: Page, live_server, project) -> Assignment:
    page.goto(f"{live_server.url}/p/{project.slug}/label/")
    page.wait_for_url(re.compile(r".*/task/\d+/"))
    return Assignment.objects.get(pk=int(page.url.rstrip("/").split("/")[-1]))


def opening_of(assignment: Assignment, letter: str) -> str:
    """The first sentence of the output shown under `letter`."""
    candidate_id = assignment.display_order[ord(letter) - ord("A")]
    return Candidate.objects.get(pk=candidate_id).text.split("\n\n")[1]


def in_viewport(page: Page, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    size = page.viewport_size
    return (
        box is not None
        and box["y"] >= 0
        and box["y"] + box["height"] <= size["height"]
        and box["x"] + box["width"] <= size["width"]
    )


def test_chips_carry_their_outputs_first_words(
    page, live_server, log_in, project, artifacts
):
    page.set_viewport_size(DESKTOP)
    log_in(page, "ada_annotator", "pw-ada-123")
    assignment = open_task(page, live_server, project)
    opening = opening_of(assignment, "C")

    # The chip's line starts with the output's first words after its heading.
    chip_text = page.locator("#chip-C .chip-text")
    expect(chip_text).to_have_text(re.compile(rf"^{re.escape(opening)}"))
    one_line = chip_text.bounding_box()["height"]
    assert one_line < 30

    # Its name says where it is and what it says, cut at a word to 80 characters.
    name = page.locator("#chip-C").get_attribute("aria-label")
    assert name.startswith(f"Output C, unranked: {opening[:40]}")
    assert name.endswith("…")
    assert len(name.split(": ", 1)[1]) <= 80
    page.keyboard.press("c")
    page.keyboard.press("2")
    expect(page.locator("#chip-C")).to_have_accessible_name(
        re.compile(rf"^Output C, rank 2: {re.escape(opening[:40])}.*…$")
    )
    # Selected, it shows more of its text (four lines), and its output is in view.
    assert chip_text.bounding_box()["height"] > 2.5 * one_line
    assert in_viewport(page, "#output-C header")
    page.screenshot(path=artifacts / "task-k9-1440x900-chip-selected.png")
    page.locator("#chip-C").click()  # a click again lets go: one line again
    expect(page.locator("#chip-C")).to_have_attribute("aria-pressed", "false")
    page.locator("#notes").focus()
    assert chip_text.bounding_box()["height"] == one_line


def test_k9_on_a_desktop_ranks_and_submits_without_a_nested_scroll(
    page, live_server, log_in, project, artifacts
):
    page.set_viewport_size(DESKTOP)
    log_in(page, "ada_annotator", "pw-ada-123")
    assignment = open_task(page, live_server, project)

    # Submit and every rank are on screen from the start, with nothing scrolled: the
    # nine unranked outputs sit two to a row.
    assert page.evaluate("window.scrollY") == 0
    assert in_viewport(page, "#submit")
    for rank in range(1, 10):
        assert in_viewport(page, f"#bucket-{rank}"), rank
    page.screenshot(path=artifacts / "task-k9-1440x900-start.png")

    order = "CAEBIDGFH"
    for rank, letter in enumerate(order, start=1):
        page.keyboard.press(letter.lower())
        page.keyboard.press(str(rank))
        page.keyboard.press(f"Shift+Digit{max(1, 8 - rank)}")
    page.keyboard.press("Escape")  # lets go of the last one
    expect(page.locator(".chip.selected")).to_have_count(0)
    page.screenshot(path=artifacts / "task-k9-1440x900-ranked.png")
    # Ranked, the side column shows every rank and Submit, and nothing in it scrolls.
    for rank in range(1, 10):
        assert in_viewport(page, f"#bucket-{rank}"), rank
    assert in_viewport(page, "#submit")
    overflow = page.evaluate(
        "(() => { const s = document.getElementById('side-scroll');"
        " return s.scrollHeight - s.clientHeight; })()"
    )
    assert overflow <= 0
    # axe judges contrast on screen: from the top, where it sees every card whole.
    page.evaluate("window.scrollTo(0, 0)")
    assert serious_violations(page) == []

    # Reading the last output lower down the page keeps the ranks and Submit in view.
    page.locator("#output-I").scroll_into_view_if_needed()
    assert page.evaluate("window.scrollY") > 0
    assert in_viewport(page, "#bucket-9") and in_viewport(page, "#submit")
    page.screenshot(path=artifacts / "task-k9-1440x900-scrolled.png")

    page.locator("#submit").click()
    page.wait_for_url(lambda url: f"/task/{assignment.pk}/" not in url)
    annotation = Annotation.objects.get(assignment=assignment)
    ranks = {j.candidate_id: j.rank for j in annotation.judgements.all()}
    letters = [chr(ord("A") + i) for i in range(9)]
    by_letter = dict(zip(letters, assignment.display_order, strict=True))
    assert [ranks[by_letter[letter]] for letter in order] == list(range(1, 10))
    assert annotation.comparisons.count() == 36


PHONE = {
    "viewport": {"width": 390, "height": 844},
    "has_touch": True,
    "is_mobile": True,
    "device_scale_factor": 2,
}


def test_k9_on_a_phone_keeps_text_and_submit_in_view(
    browser, live_server, log_in, project, artifacts
):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    try:
        log_in(page, "ada_annotator", "pw-ada-123")
        assignment = open_task(page, live_server, project)
        page.screenshot(path=artifacts / "task-k9-390x844-start.png")
        order = "CAEBIDGFH"
        for rank, letter in enumerate(order, start=1):
            page.tap(f"#chip-{letter}")
            page.tap(f"#bucket-{rank}")
            rating = max(1, 8 - rank)
            page.locator(f"#output-{letter} .likert label").nth(rating - 1).tap()
        # The panel leaves most of the screen to the outputs, and Submit is in it.
        panel = page.locator("#rank-panel").bounding_box()
        assert panel["height"] <= 0.5 * 844 + 1
        assert in_viewport(page, "#panel-submit")
        page.locator("#rank-body").evaluate(
            "body => body.scrollTo(0, body.scrollHeight)"
        )
        assert in_viewport(page, "#panel-submit") and in_viewport(page, "#bucket-9")
        page.evaluate("window.scrollTo(0, 0)")
        assert serious_violations(page) == []
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        expect(page.locator("#chip-H .chip-text")).to_contain_text(
            opening_of(assignment, "H")[:12]
        )
        page.screenshot(path=artifacts / "task-k9-390x844-ranked.png")
        page.tap("#panel-submit")
        page.wait_for_url(lambda url: f"/task/{assignment.pk}/" not in url)
        annotation = Annotation.objects.get(assignment=assignment)
        assert annotation.comparisons.count() == 36
    finally:
        context.close()


def test_shortcuts_open_on_screen_at_k9_on_a_desktop(
    page, live_server, log_in, project
):
    page.set_viewport_size(DESKTOP)
    log_in(page, "ada_annotator", "pw-ada-123")
    open_task(page, live_server, project)
    expect(page.locator("#submit .key-hint")).to_be_visible()
    page.keyboard.press("?")
    expect(page.locator("#shortcuts")).to_have_attribute("open", "")
    assert in_viewport(page, "#shortcuts dl")
    assert in_viewport(page, "#submit")
