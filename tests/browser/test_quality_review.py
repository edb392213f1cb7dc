"""A lead reads the quality page, rejects a random clicker's ranking from the review
queue with a comment, and the next export leaves it out, its card counting it."""

import io
import json
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from annotate.exporting.services import REJECTED_REASON
from annotate.models import Annotation
from annotate.quality.selectors import quality_report_compute
from annotate.tests.test_quality_page import simulated_project
from annotate.tests.test_quality_simulated import CLICKER, PROMPTS, K
from tests.browser.test_csp import violations

pytestmark = pytest.mark.browser

PAIRS_PER_RANKING = K * (K - 1) // 2  # the simulated rankings have no ties
COMMENT = "Random order: the best answer is ranked last."


@pytest.fixture
def project(make_project, django_user_model, lead):
    lead.is_staff = True  # the review queue is in the admin
    lead.save()
    return simulated_project(make_project, django_user_model)


def _exported(download) -> tuple[list[dict], str | None]:
    """The pairs rows of a download, and its dataset card if it came zipped with one."""
    data = Path(download.path()).read_bytes()
    if not download.suggested_filename.endswith(".zip"):
        return [json.loads(line) for line in data.decode().splitlines()], None
    with zipfile.ZipFile(io.BytesIO(data)) as bundle:
        names = bundle.namelist()
        [rows] = [name for name in names if name.endswith(".jsonl")]
        card = bundle.read("README.md").decode() if "README.md" in names else None
        lines = bundle.read(rows).decode().splitlines()
    return [json.loads(line) for line in lines], card


@pytest.mark.usefixtures("job_worker")
def test_a_lead_rejects_low_trust_work_and_the_export_leaves_it_out(
    page, live_server, log_in, project, artifacts, tmp_path
):
    blocked = violations(page)
    log_in(page, "lena_lead", "pw-lead-123")
    page.goto(f"{live_server.url}/p/{project.slug}/")
    page.click("#quality-link")
    page.wait_for_url(f"{live_server.url}/p/{project.slug}/quality/")

    clicker = next(
        row
        for row in quality_report_compute(project=project).annotators
        if row.annotator == CLICKER
    )
    row = page.locator(f"#annotator-{CLICKER}")
    expect(row).to_have_class("band-low")
    expect(row.locator("td.trust")).to_have_text(f"{clicker.trust:.2f} ({PROMPTS}) low")
    for plot in ("trust", "agreement", "alpha"):
        image = page.locator(f"#plot-{plot}")
        expect(image).to_be_visible()
        assert image.evaluate("img => img.complete && img.naturalWidth > 300")
    expect(page.locator("#leaderboard tbody tr")).to_have_count(4)
    page.screenshot(path=artifacts / "quality-page.png", full_page=True)

    # The low-trust band of the review queue holds the clicker's work only.
    page.click("#review-low-trust-link")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(PROMPTS)
    expect(rows.first.locator("td.field-annotator")).to_have_text(CLICKER)
    page.screenshot(path=artifacts / "review-queue.png", full_page=True)
    rejected = int(rows.first.locator("input.action-select").get_attribute("value"))
    rows.first.locator("input.action-select").check()
    page.select_option("select[name=action]", "reject")
    page.click("button[name=index]")
    page.fill("textarea[name=comment]", COMMENT)
    page.click("input[name=apply]")
    expect(page.locator("ul.messagelist")).to_contain_text("Rejected 1 annotation(s).")
    page.goto(
        f"{live_server.url}/admin/annotate/annotation/"
        f"?assignment__prompt__project__id__exact={project.pk}&review__exact=rejected"
    )
    expect(rows).to_have_count(1)
    expect(rows.first.locator("td.field-review_comment")).to_have_text(COMMENT)
    expect(page.locator("a.quality-page-link")).to_have_attribute(
        "href", f"/p/{project.slug}/quality/"
    )
    page.screenshot(path=artifacts / "review-queue-rejected.png", full_page=True)
    annotation = Annotation.objects.get(pk=rejected)
    assert (annotation.review, annotation.review_comment) == ("rejected", COMMENT)

    page.goto(f"{live_server.url}/p/{project.slug}/export/")
    page.select_option("#id_format", "pairs")
    page.click("#export-form button[type=submit]")  # a worker writes the file
    expect(page.locator("#job-download")).to_be_visible(timeout=30_000)
    with page.expect_download() as download:
        page.click("#job-download")
    pairs, card = _exported(download.value)
    assert len(pairs) == (6 * PROMPTS - 1) * PAIRS_PER_RANKING
    assert rejected not in {pair["annotation_id"] for pair in pairs}
    if card is None:  # a bare file: the card comes with export_data's folder
        call_command(
            "export_data", "--project", project.slug, "--format", "pairs",
            "--out", str(tmp_path / "pairs"),
        )  # fmt: skip
        card = (tmp_path / "pairs" / "README.md").read_text()
    assert f"| {REJECTED_REASON} | 1 |" in card
    assert not blocked, blocked
