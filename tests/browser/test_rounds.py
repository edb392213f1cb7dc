"""A lead launches a round from the admin, watches it finish, compares, rolls back."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import OperationalError, connection
from django.db.backends.signals import connection_created
from playwright.sync_api import expect

from training import services
from training.core.dpo_config import DPOConfig
from training.jobs import run_execute
from training.models import Round, TrainingRun
from training.steps import STEPS
from training.tests.fixtures_rounds import QUICK

pytestmark = pytest.mark.browser

ROUND_SECONDS = 240  # the whole tiny round on a busy two-core CPU, with margin
FINAL_STATE = re.compile("Done|Failed|Cancelled")
LOCK_WAIT_SECONDS = 10

# Every image of the page has loaded and decoded (the plots are PNGs drawn on request).
PLOTS_LOADED = "() => [...document.images].every(i => i.complete && i.naturalWidth > 0)"


def retry_when_locked(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
    """Wait for another connection's table lock, as SQLite's busy timeout would."""
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        try:
            return execute(sql, params, many, context)
        except OperationalError as err:
            if "is locked" not in str(err) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


@pytest.fixture
def queries_wait_for_locks() -> Iterator[None]:
    """Every connection of this test retries a query that meets a table lock.

    The test database is SQLite in memory with a shared cache, where a query that
    meets another connection's lock fails at once ("database table is locked")
    instead of waiting as on a file or on PostgreSQL. Here jobs, their heartbeats
    and the live server use the database at the same time.
    """

    def on_connect(sender: Any, connection: Any, **kwargs: Any) -> None:
        if retry_when_locked not in connection.execute_wrappers:
            connection.execute_wrappers.append(retry_when_locked)

    if connection.vendor != "sqlite":
        yield
        return
    connection_created.connect(on_connect)
    on_connect(None, connection)  # the test's own, shared with the live server
    yield
    connection_created.disconnect(on_connect)
    connection.execute_wrappers.remove(retry_when_locked)


@pytest.fixture
def jobs_in_threads(monkeypatch, queries_wait_for_locks) -> Iterator[list[str]]:
    """Each queued job runs at once in a thread of this process (no Celery worker).

    Yields the errors that escaped a job (none expected), for failure messages.
    """
    threads: list[threading.Thread] = []
    escaped: list[str] = []

    def run(run_id: int) -> None:
        try:
            run_execute(run_id, worker="browser-test", steps=STEPS)
        except Exception as err:
            escaped.append(f"run {run_id}: {type(err).__name__}: {err}")
            raise
        finally:
            connection.close()  # this thread's own connection

    def dispatch(run_id: int) -> None:
        thread = threading.Thread(target=run, args=(run_id,), daemon=True)
        threads.append(thread)
        thread.start()

    monkeypatch.setattr(services, "dispatch_job", dispatch)
    yield escaped
    for thread in threads:
        thread.join(timeout=ROUND_SECONDS)


@pytest.fixture
def admin_lead(lead):
    lead.is_staff = lead.is_superuser = True
    lead.save()
    return lead


def test_a_lead_launches_a_dpo_round_sees_it_done_and_rolls_back(
    page, live_server, log_in, ranked_project, admin_lead, jobs_in_threads, artifacts
):
    project = ranked_project()
    log_in(page, "lena_lead", "pw-lead-123")
    page.goto(f"{live_server.url}/admin/")
    page.get_by_role("link", name="Rounds", exact=True).click()
    page.get_by_role("link", name="Launch round").click()
    expect(
        page.get_by_role("heading", name="Policy training: DPO family")
    ).to_be_visible()

    # Only the chosen algorithm's settings show: PPO's, then DPO's again.
    page.get_by_label("PPO against the reward model").check()
    expect(page.locator('fieldset[data-algorithm="ppo"]')).to_be_visible()
    expect(page.locator('fieldset[data-algorithm="dpo"]')).to_be_hidden()
    page.get_by_label("DPO family (offline, on the rankings)").check()
    expect(page.locator('fieldset[data-algorithm="dpo"]')).to_be_visible()
    expect(page.locator('fieldset[data-algorithm="ppo"]')).to_be_hidden()
    # The rate is left to the model-size rule; the step floor shows its default.
    expect(page.locator("#id_dpo__lr")).to_have_value("")
    expect(page.locator("#id_dpo__min_steps")).to_have_value(str(DPOConfig().min_steps))

    quick = {
        "reward": QUICK["reward_settings"],
        "dpo": QUICK["policy_settings"],
        "generation": QUICK["generation_settings"],
    }
    for prefix, values in quick.items():
        for name, value in values.items():
            page.fill(f"#id_{prefix}__{name}", str(value))
    page.fill("#id_new_prompts", "Explain rain to a child")
    page.screenshot(path=artifacts / "rounds-launch-form.png", full_page=True)
    page.click("#launch-submit")

    page.wait_for_url(re.compile(r"/admin/training/round/\d+/live/$"))
    round_ = Round.objects.get(project=project)
    assert round_.policy_settings == QUICK["policy_settings"]
    bars = page.locator("#runs .bar")
    expect(bars.first).to_be_visible()
    page.screenshot(path=artifacts / "rounds-live-running.png", full_page=True)

    state = page.locator("#round-state")
    try:
        expect(state).to_have_text(FINAL_STATE, timeout=ROUND_SECONDS * 1000)
    except AssertionError as err:
        page.screenshot(path=artifacts / "rounds-live-stuck.png", full_page=True)
        raise AssertionError(f"the round never ended: {jobs_in_threads}") from err
    round_.refresh_from_db()
    errors = [run.error for run in round_.runs.all() if run.error]
    assert state.text_content() == "Done", f"{round_.error} {errors} {jobs_in_threads}"
    expect(bars).to_have_count(4)
    for index in range(4):
        expect(bars.nth(index)).to_have_attribute("aria-valuenow", "100")
    expect(page.locator("#runs .run-status")).to_have_text(["Succeeded"] * 4)
    expect(page.locator("#cancel-form")).to_be_hidden()
    expect(page.locator('[data-lineage="candidates"]')).not_to_have_text("0")
    page.wait_for_function(PLOTS_LOADED)
    page.screenshot(path=artifacts / "rounds-live-done.png", full_page=True)

    round_.refresh_from_db()
    assert round_.state == Round.State.DONE
    statuses = set(round_.runs.values_list("status", flat=True))
    assert statuses == {TrainingRun.Status.SUCCEEDED}

    # The new policy beside the one it started from; then back to that one.
    policy, base = round_.policy, round_.base_policy
    assert policy is not None and services.current_policy(project) == policy
    sidebar = page.locator("#nav-sidebar")
    sidebar.get_by_role("link", name="Model versions").click()
    for version in (base, policy):
        page.check(f'input[name="_selected_action"][value="{version.pk}"]')
    page.select_option('select[name="action"]', "compare_two")
    page.get_by_role("button", name="Go").click()
    expect(page.locator("#compare thead")).to_contain_text(policy.name)
    expect(page.locator("#compare thead")).to_contain_text("current policy")
    expect(page.locator("figure.plot img")).to_have_count(3)  # the curves over rounds
    page.wait_for_function(PLOTS_LOADED)
    page.screenshot(path=artifacts / "rounds-compare.png", full_page=True)
    sidebar.get_by_role("link", name="Model versions").click()
    page.get_by_role("button", name=f"Roll back to {base.name}").click()
    page.get_by_role("button", name=f"Yes, roll back to {base.name}").click()
    expect(page.locator(".messagelist")).to_contain_text(f"starts from {base.name}")
    page.screenshot(path=artifacts / "rounds-model-versions.png", full_page=True)
    assert services.current_policy(project) == base
