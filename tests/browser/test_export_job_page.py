"""A lead exports from the export page: the job's page shows its progress as a worker
writes the file, then the download link; the file holds what was asked for."""

import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from annotate.models import ExportJob
from annotate.services import assignment_next
from api.tests.test_api_permissions import submit_ranked
from tests.browser.test_csp import violations

pytestmark = pytest.mark.browser


def test_the_job_page_shows_progress_then_the_download(
    page, live_server, log_in, make_project, annotator, job_worker, artifacts
):
    project = make_project(k=4, n_prompts=3, members=[annotator])
    for _ in range(3):
        submit_ranked(assignment_next(project=project, annotator=annotator), annotator)
    blocked = violations(page)
    log_in(page, "lena_lead", "pw-lead-123")
    page.goto(f"{live_server.url}/p/{project.slug}/export/")
    page.select_option("#id_format", "pairs")
    page.screenshot(path=artifacts / "export-form.png", full_page=True)
    page.click("#export-form button[type=submit]")
    page.wait_for_url("**/export/*/")
    expect(page.locator("#job-state")).to_have_text("Queued")
    page.screenshot(path=artifacts / "export-job-queued.png", full_page=True)

    # The page polls until the worker is done, then offers the file.
    expect(page.locator("#job-state")).to_have_text("Ready to download", timeout=30_000)
    expect(page.locator("#job-rows")).to_have_text("18")
    expect(page.locator("#job-done")).to_have_text("3")
    assert page.locator("#job-bar").evaluate("bar => bar.value") == 100
    expect(page.locator("#job-size")).to_have_text(re.compile(r"^\d+\.\d KB$"))
    expect(page.locator("#job-expires")).to_have_text(
        re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d$")
    )
    page.screenshot(path=artifacts / "export-job-ready.png", full_page=True)
    with page.expect_download() as download:
        page.click("#job-download")
    job = ExportJob.objects.get()
    assert download.value.suggested_filename == job.file_name
    assert job.file_name.endswith(".zip")
    with zipfile.ZipFile(
        io.BytesIO(Path(download.value.path()).read_bytes())
    ) as zipped:
        [rows] = [name for name in zipped.namelist() if name.endswith(".jsonl")]
        pairs = [json.loads(line) for line in zipped.read(rows).splitlines()]
        assert "README.md" in zipped.namelist()
    assert len(pairs) == 3 * 6  # three K=4 rankings, no ties

    # The export page lists the job, linked to its page.
    page.goto(f"{live_server.url}/p/{project.slug}/export/")
    expect(page.locator("#export-jobs tbody tr")).to_have_count(1)
    expect(page.locator("#export-jobs tbody tr td").nth(3)).to_have_text(
        "Ready to download"
    )
    assert not blocked, blocked
