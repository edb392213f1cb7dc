"""The lead's quality page, its PNG plots, and the quality and leaderboard API."""

import json
import random
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from annotate.models import Project
from annotate.quality.plots import ALPHA_CHUNK_MIN, PLOTS, alpha_trend
from annotate.quality.report import RankedTask
from annotate.quality.selectors import quality_report_compute, quality_report_data
from annotate.tests.test_csp import inline_code
from annotate.tests.test_quality_simulated import (
    CAREFUL,
    CLICKER,
    FIRST,
    PROMPTS,
    K,
    _annotate_all,
)
from training.leaderboard import leaderboard_compute, leaderboard_data

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def simulated_project(make_project, user_model, *, password=None) -> Project:
    """test_quality_simulated's project: four careful annotators, a random clicker
    and one who always puts the first-shown output first, on 24 prompts × 4
    outputs whose sources m0 (best) to m3 (worst) the leaderboard ranks."""
    random.seed(13)  # assignment_next shuffles the display order with `random`
    users = [
        user_model.objects.create_user(name, password=password)
        for name in [*CAREFUL, CLICKER, FIRST]
    ]
    project = make_project(
        k=K,
        n_prompts=PROMPTS,
        slug="quality",
        members=users,
        annotations_per_prompt=len(users),
    )
    _annotate_all(project, users)
    return project


@pytest.fixture
def simulated(make_project, django_user_model):
    return simulated_project(make_project, django_user_model)


def _row(html: str, annotator: str) -> str:
    """The quality table's row of one annotator."""
    match = re.search(rf'<tr id="annotator-{annotator}"[^>]*>.*?</tr>', html, re.S)
    assert match, f"no row for {annotator}"
    return match.group(0)


def _cells(row: str) -> list[str]:
    """The row's cells as text, tags and runs of spaces removed."""
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", cell).split()) for cell in cells]


def test_who_sees_the_quality_page_and_its_plots(
    client, simulated, lead, django_user_model
):
    page = reverse("annotate:project_quality", args=["quality"])
    plot = reverse("annotate:project_quality_plot", args=["quality", "trust"])
    assert client.get(page).status_code == 302  # to the login page
    client.force_login(django_user_model.objects.get(username=CLICKER))
    assert (client.get(page).status_code, client.get(plot).status_code) == (403, 403)
    client.force_login(django_user_model.objects.create_user("nina_not_member"))
    assert (client.get(page).status_code, client.get(plot).status_code) == (403, 403)
    client.force_login(lead)
    assert (client.get(page).status_code, client.get(plot).status_code) == (200, 200)
    missing = reverse("annotate:project_quality", args=["no-such-project"])
    assert client.get(missing).status_code == 404
    wrong = reverse("annotate:project_quality_plot", args=["quality", "nope"])
    assert client.get(wrong).status_code == 404
    client.force_login(django_user_model.objects.create_superuser("sue_super"))
    assert client.get(page).status_code == 200


def test_the_table_shows_each_annotators_figures(
    client, simulated, lead, django_assert_max_num_queries
):
    client.force_login(lead)
    # Session, user, project, membership twice, the report's four, the
    # leaderboard's one: the same for 6 annotators or 600.
    with django_assert_max_num_queries(10):
        page = client.get(reverse("annotate:project_quality", args=["quality"]))
    html = page.content.decode()
    found = inline_code(html)  # the site's strict CSP allows none
    assert (found.scripts, found.handlers, found.styles) == ([], [], [])
    report = quality_report_compute(project=simulated)
    by_name = {row.annotator: row for row in report.annotators}
    clicker = by_name[CLICKER]
    row = _row(html, CLICKER)
    # The clicker is in the review queue's low-trust band, marked so.
    assert 'class="band-low"' in row
    n, trust, agreement, tau, gold, bias, seconds, fast = _cells(row)[1:]
    assert n == str(PROMPTS)
    assert trust == f"{clicker.trust:.2f} ({PROMPTS}) low" and clicker.trust < 0.2
    assert agreement == f"{clicker.agreement:.2f}"
    assert tau == f"{clicker.consensus_tau:.2f}"
    assert gold == "—"  # no gold tasks in this project
    assert "favours" not in bias
    assert seconds == f"{clicker.median_seconds:.0f} s"
    assert fast == f"{PROMPTS} of {PROMPTS}"  # 2-4 s against the others' 30-90 s
    # Only the one who favours the first-shown output is flagged for it.
    first = by_name[FIRST]
    bias = _cells(_row(html, FIRST))[6]
    assert bias == (
        f"{first.position_bias:.2f} z = {first.position_bias_z:.1f} favours first shown"
    )
    for name in CAREFUL:
        careful = _row(html, name)
        assert 'class="band-high"' in careful and "favours" not in careful
    assert '<dd id="figure-rankings">144</dd>' in html
    assert f"{report.project.alpha_likert:.2f}" in html
    # The page links each plot, the review queue and the JSON.
    for name in PLOTS:
        assert reverse("annotate:project_quality_plot", args=["quality", name]) in html
    assert f"?assignment__prompt__project__id__exact={simulated.pk}" in html
    assert reverse("api:project-quality", args=[simulated.pk]) in html


def test_the_leaderboard_ranks_the_sources_by_their_hidden_quality(
    client, simulated, lead
):
    client.force_login(lead)
    html = client.get(reverse("annotate:project_quality", args=["quality"]))
    table = re.search(
        r'<table[^>]*id="leaderboard".*?</table>', html.content.decode(), re.S
    )
    assert table
    models = [cells[1] for cells in map(_cells, table.group(0).split("</tr>")[1:-1])]
    assert models == ["m0", "m1", "m2", "m3"]  # the simulation's QUALITY order


def test_an_empty_project_says_what_is_missing(client, make_project, lead):
    make_project(k=3, n_prompts=2, slug="empty")
    client.force_login(lead)
    html = client.get(reverse("annotate:project_quality", args=["empty"]))
    text = html.content.decode()
    assert "Nobody has ranked anything yet." in text
    assert "No head-to-head comparisons yet." in text
    for name in PLOTS:  # each plot says "no data yet" in its image
        png = client.get(reverse("annotate:project_quality_plot", args=["empty", name]))
        assert png.content.startswith(PNG_MAGIC)


def test_every_plot_is_a_png(client, simulated, lead):
    client.force_login(lead)
    for name in PLOTS:
        response = client.get(
            reverse("annotate:project_quality_plot", args=["quality", name])
        )
        assert response["Content-Type"] == "image/png"
        assert response.content.startswith(PNG_MAGIC)
        assert "no-cache" in response["Cache-Control"]


def test_the_project_page_and_the_review_queue_link_to_the_quality_page(
    client, simulated, lead
):
    url = reverse("annotate:project_quality", args=["quality"])
    client.force_login(lead)
    assert (
        url
        in client.get(reverse("annotate:project", args=["quality"])).content.decode()
    )
    lead.is_staff = True
    lead.save()
    queue = reverse("admin:annotate_annotation_changelist")
    filtered = client.get(
        f"{queue}?assignment__prompt__project__id__exact={simulated.pk}"
    )
    assert filtered.status_code == 200
    assert f'href="{url}" class="quality-page-link"' in filtered.content.decode()


def _api(client, project, what):
    return client.get(f"/api/v1/projects/{project.pk}/{what}/")


def test_the_api_gives_the_quality_report_and_leaderboard_to_leads_only(
    client, simulated, lead, django_user_model
):
    assert _api(client, simulated, "quality").status_code == 401
    client.force_login(django_user_model.objects.get(username=CLICKER))
    refused = _api(client, simulated, "quality")
    assert refused.status_code == 403
    assert "see its quality figures" in refused.json()["errors"]["detail"]
    assert _api(client, simulated, "leaderboard").status_code == 403
    client.force_login(django_user_model.objects.create_user("nina_not_member"))
    assert _api(client, simulated, "quality").status_code == 404
    assert client.get("/api/v1/projects/999999/quality/").status_code == 404
    client.force_login(lead)
    quality = _api(client, simulated, "quality")
    report = quality_report_compute(project=simulated)
    expected = quality_report_data(project=simulated, report=report)
    assert quality.status_code == 200
    assert quality.json() == json.loads(json.dumps(expected))
    board = _api(client, simulated, "leaderboard")
    expected = leaderboard_data(
        project=simulated, board=leaderboard_compute(project=simulated)
    )
    assert board.status_code == 200
    assert board.json() == json.loads(json.dumps(expected))
    assert [row["model"] for row in board.json()["rows"]] == ["m0", "m1", "m2", "m3"]


def _likert_task(annotator, prompt, rating, at):
    """A two-output ranking whose Likert ratings are `rating` and 8 − `rating`."""
    first, second = 2 * prompt, 2 * prompt + 1
    return RankedTask(
        annotator=annotator,
        prompt=prompt,
        display_order=(first, second),
        ranks={first: 1, second: 2},
        likert={first: rating, second: 8 - rating},
        flags={},
        seconds=30.0,
        assignment=100 * prompt + ord(annotator),
    ), at


def test_alpha_over_time_takes_prompts_in_the_order_they_were_finished():
    """12 prompts by two annotators: chunks of 5, the 2 left over join the last.

    The first 5 prompts finished (in time, not by id) are rated identically by
    both annotators (α = 1); on the other 7 the two give opposite extremes
    (7/1 against 1/7), the most disagreement there is: α < 0.
    """
    start = datetime(2025, 1, 6, tzinfo=UTC)
    agreeing = [11, 3, 7, 0, 5]  # finished first
    pairs = []
    for minute, prompt in enumerate([*agreeing, 1, 2, 4, 6, 8, 9, 10]):
        at = start + timedelta(minutes=minute)
        other = 7 if prompt in agreeing else 1
        pairs += [
            _likert_task("a", prompt, 7, at),
            _likert_task("b", prompt, other, at),
        ]
    pairs.append(_likert_task("a", 99, 4, start))  # ranked once: in no chunk
    tasks = [task for task, _ in pairs]
    completed = {task.assignment: at for task, at in pairs}
    points = alpha_trend(tasks, completed)
    assert ALPHA_CHUNK_MIN == 5
    assert [(p.first, p.last, p.pairable) for p in points] == [(1, 5, 20), (6, 12, 28)]
    assert points[0].alpha == 1.0 and points[1].alpha < 0
    assert points[0].until == start + timedelta(minutes=4)
    assert points[1].until == start + timedelta(minutes=11)
