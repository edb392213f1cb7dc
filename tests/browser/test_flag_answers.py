"""A project that asks Yes or No for every flag, and a checklist about the prompt:
answered by keyboard and by click, kept in the draft, stored on submit."""

import re

import pytest
from playwright.sync_api import Page, expect

from annotate.models import Annotation, Assignment, Project
from tests.browser.test_accessibility import PHONE, serious_violations

pytestmark = pytest.mark.browser

FLAGS = [
    {
        "key": "hallucination",
        "label": "Hallucination",
        "description": "States facts that are not true.",
    },
    {"key": "rude", "label": "Rude", "description": "Insults the user."},
]
PROMPT_FLAGS = [
    {
        "key": "unclear",
        "label": "The prompt is unclear",
        "description": "It can be read as asking for different things.",
    },
    {"key": "personal_data", "label": "Contains personal data", "description": ""},
]
SHOTS = "/tmp/shots-h6"


@pytest.fixture
def project(make_project, annotator):
    return make_project(
        k=2,
        n_prompts=1,
        slug="yesno",
        members=[annotator],
        flags=FLAGS,
        prompt_flags=PROMPT_FLAGS,
        flag_answers=Project.FlagAnswers.YES_NO,
    )


def open_task(page: Page, live_server, project) -> Assignment:
    page.goto(f"{live_server.url}/p/{project.slug}/label/")
    page.wait_for_url(re.compile(rf".*/p/{project.slug}/task/\d+/"))
    return Assignment.objects.get(pk=int(page.url.rstrip("/").split("/")[-1]))


def test_every_flag_answered_by_keyboard_and_click_kept_and_stored(
    page, live_server, log_in, project, artifacts
):
    page.set_viewport_size({"width": 1440, "height": 900})
    log_in(page, "ada_annotator", "pw-ada-123")
    assignment = open_task(page, live_server, project)
    a, b = assignment.display_order

    # Rank and rate by keyboard, then try to submit with no flag answered.
    for letter, rank, rating in [("a", 1, 6), ("b", 2, 3)]:
        page.keyboard.press(letter)
        page.keyboard.press(str(rank))
        page.keyboard.press(f"Shift+Digit{rating}")
    page.keyboard.press("Control+Enter")
    feedback = page.locator("#feedback")
    expect(feedback).to_contain_text(
        "Prompt: answer Yes or No for 'The prompt is unclear', "
        "'Contains personal data'."
    )
    expect(feedback).to_contain_text(
        "Output A: answer Yes or No for 'Hallucination', 'Rude'."
    )
    assert not Annotation.objects.exists()

    # Output A by keyboard: X opens its flags on Hallucination's Yes; Space answers
    # it, Tab goes on to Rude, the arrow key answers No.
    page.keyboard.press("a")
    page.keyboard.press("x")
    expect(
        page.locator("#output-A").get_by_role("radio", name="Yes, Hallucination")
    ).to_be_focused()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    page.keyboard.press("ArrowRight")
    # The prompt's checklist by keyboard: P, then the same keys.
    page.keyboard.press("p")
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    page.keyboard.press("ArrowRight")
    # Output B by click, on the radios' accessible names.
    output_b = page.locator("#output-B")
    output_b.get_by_role("radio", name="No, Hallucination").click()
    output_b.get_by_role("radio", name="No, Rude").click()
    expect(page.locator("#output-A .flag-count")).to_have_text(
        "(2 of 2 answered, 1 yes)"
    )
    expect(page.locator("#prompt-flags .flag-count")).to_have_text(
        "(2 of 2 answered, 1 yes)"
    )
    expect(output_b.locator(".flag-count")).to_have_text("(2 of 2 answered)")
    expect(page.locator("#draft-status")).to_contain_text("Draft saved at")
    assert serious_violations(page) == []
    page.screenshot(path=f"{SHOTS}/yes-no-1440x900.png")
    page.screenshot(path=artifacts / "flag-answers-1440x900.png", full_page=True)

    assignment.refresh_from_db()
    assert assignment.draft["flags"] == {str(a): ["hallucination"], str(b): []}
    assert assignment.draft["flags_no"] == {
        str(a): ["rude"],
        str(b): ["hallucination", "rude"],
    }
    assert assignment.draft["prompt_flags"] == ["unclear"]
    assert assignment.draft["prompt_flags_no"] == ["personal_data"]

    page.reload()
    expect(page.locator("#draft-status")).to_have_text("Your draft was restored.")
    prompt = page.locator("#prompt-flags")
    for scope, name in [
        (page.locator("#output-A"), "Yes, Hallucination"),
        (page.locator("#output-A"), "No, Rude"),
        (output_b, "No, Hallucination"),
        (output_b, "No, Rude"),
        (prompt, "Yes, The prompt is unclear"),
        (prompt, "No, Contains personal data"),
    ]:
        expect(scope.get_by_role("radio", name=name)).to_be_checked()
    page.click("#submit")
    page.wait_for_url(lambda url: f"/task/{assignment.pk}/" not in url)

    annotation = Annotation.objects.get(assignment=assignment)
    assert (annotation.prompt_flags, annotation.prompt_flags_no) == (
        ["unclear"],
        ["personal_data"],
    )
    answers = {
        j.candidate_id: (j.flags, j.flags_no) for j in annotation.judgements.all()
    }
    assert answers == {
        a: (["hallucination"], ["rude"]),
        b: ([], ["hallucination", "rude"]),
    }


def test_the_yes_no_page_on_a_phone(browser, live_server, log_in, project, artifacts):
    context = browser.new_context(**PHONE)
    try:
        page = context.new_page()
        log_in(page, "ada_annotator", "pw-ada-123")
        open_task(page, live_server, project)
        prompt = page.locator("#prompt-flags")
        prompt.get_by_role("radio", name="Yes, Contains personal data").tap()
        page.locator("#output-A").get_by_role("radio", name="No, Rude").tap()
        expect(prompt.locator(".flag-count")).to_have_text("(1 of 2 answered, 1 yes)")
        assert serious_violations(page) == []
        page.screenshot(path=f"{SHOTS}/yes-no-390x844.png")
        page.screenshot(path=artifacts / "flag-answers-390x844.png", full_page=True)
    finally:
        context.close()
