"""Each flag's description shows under its checkbox and describes the checkbox."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

OPINION = "Gives its own view on a contested question instead of the facts."


@pytest.fixture
def project(make_project, annotator):
    project = make_project(k=3, n_prompts=1, slug="flag-help", members=[annotator])
    project.flags = [
        *project.flags,
        {
            "key": "expresses_opinion",
            "label": "Expresses an opinion",
            "description": OPINION,
        },
    ]
    project.full_clean()
    project.save()
    return project


def test_flag_descriptions_show_under_the_checkboxes(
    page, live_server, log_in, project, artifacts
):
    refused = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text)
            if "Content Security Policy" in message.text
            else None
        ),
    )
    log_in(page, "ada_annotator", "pw-ada-123")
    page.goto(f"{live_server.url}/p/{project.slug}/label/")
    page.wait_for_url(re.compile(r".*/p/flag-help/task/\d+/"))

    flags = page.locator("#output-B .flags")
    help_text = flags.locator(".flag-help", has_text=OPINION)
    expect(help_text).to_be_hidden()  # inside the folded checklist
    flags.locator("summary").click()
    expect(help_text).to_be_visible()
    checkbox = flags.locator("input[value='expresses_opinion']")
    expect(checkbox).to_have_accessible_description(OPINION)
    expect(flags.get_by_label("Gives harmful advice")).to_have_accessible_description(
        re.compile(r"^Advice that could hurt someone who follows it")
    )
    flags.get_by_label("Expresses an opinion").check()
    expect(flags.locator(".flag-count")).to_have_text("(1)")

    # The keyboard path: select output C, X opens its checklist with the help in view.
    page.keyboard.press("c")
    page.keyboard.press("x")
    expect(
        page.locator("#output-C .flags .flag-help", has_text=OPINION)
    ).to_be_visible()

    flags.scroll_into_view_if_needed()
    page.locator("#output-B").screenshot(path=str(artifacts / "task-flag-help.png"))
    assert refused == []
