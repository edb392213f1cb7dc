"""A lead uploads a file in the admin: the import's page follows the worker until the
counts are in, and shows every bad row of a refused file."""

import json

import pytest
from playwright.sync_api import expect

from annotate.models import Annotation
from tests.browser.test_csp import violations

pytestmark = pytest.mark.browser


@pytest.fixture
def admin_lead(lead):
    lead.is_staff = True
    lead.save()
    return lead


def upload_in_admin(page, live_server, project, path) -> None:
    page.goto(f"{live_server.url}/admin/annotate/project/{project.pk}/import/")
    page.set_input_files("input[type=file]", str(path))
    page.click("input[type=submit][value=Import]")
    page.wait_for_url("**/import/*/")


def test_the_import_page_follows_the_job_to_its_counts(
    page, live_server, log_in, make_project, admin_lead, job_worker, tmp_path, artifacts
):
    project = make_project(n_prompts=0, slug="imports")
    good = tmp_path / "pairs.jsonl"
    good.write_text(
        "".join(
            json.dumps({"prompt": f"Q{i}?", "chosen": "yes", "rejected": "no"}) + "\n"
            for i in range(5)
        )
    )
    blocked = violations(page)
    log_in(page, "lena_lead", "pw-lead-123")
    upload_in_admin(page, live_server, project, good)
    expect(page.locator("#job-state")).to_have_text("Queued")
    expect(page.locator("#job-state")).to_have_text("Imported", timeout=30_000)
    expect(page.locator("#job-summary")).to_contain_text(
        "annotations: 5 added, 0 already there"
    )
    expect(page.locator("#job-done")).to_have_text("5")
    assert page.locator("#job-bar").evaluate("bar => bar.value") == 100
    expect(page.locator("#job-errors")).to_be_hidden()
    page.screenshot(path=artifacts / "import-job-done.png", full_page=True)
    assert Annotation.objects.filter(assignment__prompt__project=project).count() == 5

    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"prompt": "Q?", "chosen": "yes", "rejected": "no"}\n'
        "not json\n"
        '{"prompt": "Q2?", "chosen": "yes"}\n'
    )
    upload_in_admin(page, live_server, project, bad)
    expect(page.locator("#job-state")).to_have_text("Nothing imported", timeout=30_000)
    errors = page.locator("#job-error-list li")
    expect(errors).to_have_count(2)
    expect(errors.first).to_contain_text("row 2:")
    expect(errors.nth(1)).to_contain_text("row 3:")
    page.screenshot(path=artifacts / "import-job-failed.png", full_page=True)
    assert blocked == []
