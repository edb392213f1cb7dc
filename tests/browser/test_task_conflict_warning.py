"""The ranking-vs-rating warning follows the page: re-checked on every change, gone
once fixed, and "Submit anyway" confirms only what the server checked."""

import re

import pytest
from playwright.sync_api import Page, expect

from annotate.models import Annotation, Assignment

pytestmark = pytest.mark.browser


@pytest.fixture
def project(make_project, annotator):
    return make_project(k=4, n_prompts=2, slug="conflicts", members=[annotator])


def open_task(page: Page, live_server, project) -> Assignment:
    page.goto(f"{live_server.url}/p/{project.slug}/label/")
    page.wait_for_url(re.compile(r".*/task/\d+/"))
    return Assignment.objects.get(pk=int(page.url.rstrip("/").split("/")[-1]))


def rank_and_rate(page: Page, plan: list[tuple[str, int, int]]) -> None:
    for letter, rank, rating in plan:
        page.keyboard.press(letter)
        page.keyboard.press(str(rank))
        page.keyboard.press(f"Shift+Digit{rating}")


def stored_likert(assignment: Assignment) -> list[int]:
    annotation = Annotation.objects.get(assignment=assignment)
    likert = {j.candidate_id: j.likert for j in annotation.judgements.all()}
    return [likert[cid] for cid in assignment.display_order]


def test_fixing_the_ranking_clears_the_warning(page, live_server, log_in, project):
    log_in(page, "ada_annotator", "pw-ada-123")
    assignment = open_task(page, live_server, project)
    rank_and_rate(page, [("a", 1, 2), ("b", 2, 6), ("c", 3, 4), ("d", 4, 1)])
    page.click("#submit")
    feedback = page.locator("#feedback")
    expect(feedback).to_contain_text("A is ranked above B but rated lower (2 < 6).")
    expect(feedback).to_contain_text("A is ranked above C but rated lower (2 < 4).")

    # A beside B (the project allows ties) leaves one contradiction, shown at once.
    page.keyboard.press("a")
    page.keyboard.press("2")
    expect(feedback).to_contain_text("A is ranked above C but rated lower (2 < 4).")
    expect(feedback).not_to_contain_text("A is ranked above B")
    # A beside C fixes it: the warning goes, and with it "Submit anyway".
    page.keyboard.press("3")
    expect(feedback).to_be_empty()
    expect(page.locator("#submit-anyway")).to_have_count(0)
    assert not Annotation.objects.exists()

    page.click("#submit")
    page.wait_for_url(lambda url: f"/task/{assignment.pk}/" not in url)
    annotation = Annotation.objects.get(assignment=assignment)
    a, b, c, d = assignment.display_order
    ranks = {j.candidate_id: j.rank for j in annotation.judgements.all()}
    assert ranks == {b: 1, a: 2, c: 2, d: 3}  # rank 1 left empty


def test_submit_anyway_after_a_change_checks_the_new_state(
    page, live_server, log_in, project
):
    log_in(page, "ada_annotator", "pw-ada-123")
    assignment = open_task(page, live_server, project)
    rank_and_rate(page, [("a", 1, 2), ("b", 2, 6), ("c", 3, 4), ("d", 4, 1)])
    page.click("#submit")
    feedback = page.locator("#feedback")
    expect(feedback).to_contain_text("A is ranked above B but rated lower (2 < 6).")
    expect(feedback).not_to_contain_text("C is ranked above D")

    # A new contradiction shows as soon as it is made.
    page.keyboard.press("d")
    page.keyboard.press("Shift+Digit5")
    expect(feedback).to_contain_text("A is ranked above D but rated lower (2 < 5).")
    expect(feedback).to_contain_text("C is ranked above D but rated lower (4 < 5).")

    # "Submit anyway" now sends the state to be checked, not confirmed unseen: the
    # server warns about the same pairs, and only the next press stores it.
    with page.expect_response(re.compile(r".*/submit/$")) as answer:
        page.click("#submit-anyway")
    assert answer.value.status == 409
    assert not Annotation.objects.filter(assignment=assignment).exists()
    expect(feedback).to_contain_text("C is ranked above D but rated lower (4 < 5).")
    page.click("#submit-anyway")
    page.wait_for_url(lambda url: f"/task/{assignment.pk}/" not in url)
    assert stored_likert(assignment) == [2, 6, 4, 5]
