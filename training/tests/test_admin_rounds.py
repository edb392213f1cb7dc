"""Admin round pages: launch form, live status, plots, compare, promote, cancel."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from annotate.models import Prompt
from training import selectors, services
from training.admin import PLOT_DESCRIPTIONS
from training.models import (
    DataSnapshot,
    EvaluationSet,
    ModelVersion,
    Round,
    TrainingRun,
)
from training.tests.fixtures_rounds import QUICK, drain

LAUNCH = reverse("admin:training_round_launch")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def admin_lead(lead):
    """The demo's lead: a superuser who also leads the project."""
    lead.is_staff = lead.is_superuser = True
    lead.save()
    return lead


@pytest.fixture
def lead_client(client, admin_lead):
    client.force_login(admin_lead)
    return client


def form_data(response: Any, **changes: Any) -> dict[str, Any]:
    """What a browser submits for the rendered form, with some fields changed."""
    data: dict[str, Any] = {}
    for field in response.context["form"]:
        value = field.value()
        if value is False or value is None:
            continue  # an unticked box or an empty field is not sent
        data[field.name] = "on" if value is True else value
    data.update(changes)
    return data


QUICK_FIELDS = {
    **{f"reward__{k}": v for k, v in QUICK["reward_settings"].items()},
    **{f"dpo__{k}": v for k, v in QUICK["policy_settings"].items()},
    "generation__k": QUICK["generation_settings"]["k"],
    "generation__max_new_tokens": QUICK["generation_settings"]["max_new_tokens"],
}


def test_launch_form_shows_the_trainers_defaults_and_help(ranked_project, lead_client):
    project = ranked_project()
    response = lead_client.get(LAUNCH)
    assert response.status_code == 200
    form = response.context["form"]
    assert form["dpo__lr"].value() is None  # the trainer picks it by rule
    assert form["dpo__loss"].value() == "dpo"
    assert form["ppo__kl_coef"].value() == 0.05
    assert form["reward__epochs"].value() == 6
    assert form["generation__k"].value() == services.default_k(project)
    assert "(default: 0.05)" in form.fields["ppo__kl_coef"].help_text
    assert "(empty: the trainer's choice)" in form.fields["dpo__lr"].help_text
    assert "this project takes 2 to 4" in form.fields["generation__k"].help_text
    fresh = list(services.fresh_prompts(project).values_list("pk", flat=True))
    assert form["prompts"].value() == fresh
    held_out = EvaluationSet.objects.get(project=project)  # frozen by this page
    assert len(held_out.prompt_ids) == 1 and not set(held_out.prompt_ids) & set(fresh)
    html = response.content.decode()
    (held_out_id,) = held_out.prompt_ids
    assert f"never generated for, never trained on): #{held_out_id}." in html
    # Only the chosen algorithm's settings are visible.
    assert 'data-algorithm="dpo">' in html
    assert 'data-algorithm="ppo" hidden>' in html
    assert 'id="launch-blockers"' not in html


def test_too_little_data_is_refused_with_the_reason_and_nothing_is_written(
    ranked_project, lead_client
):
    ranked_project(n_ranked=2)
    page = lead_client.get(LAUNCH)
    assert "Not enough data: 2 rankings" in page.content.decode()  # warned before
    prompts_before = Prompt.objects.count()
    response = lead_client.post(
        LAUNCH, form_data(page, new_prompts="A brand new prompt\n")
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Nothing was launched" in html
    assert "Not enough data: 2 rankings and 6 comparisons" in html
    assert Round.objects.count() == DataSnapshot.objects.count() == 0
    assert Prompt.objects.count() == prompts_before


@pytest.mark.django_db(transaction=True)
def test_launch_sends_only_changed_settings_and_opens_the_live_page(
    ranked_project, lead_client, queued, admin_lead
):
    project = ranked_project()
    page = lead_client.get(LAUNCH)
    fresh = list(services.fresh_prompts(project).values_list("pk", flat=True))
    data = form_data(page, new_prompts="Write a haiku\n\n", **QUICK_FIELDS)
    response = lead_client.post(LAUNCH, data)
    round_ = Round.objects.get()
    live = reverse("admin:training_round_live", args=[round_.pk])
    assert response.status_code == 302 and response.url == live
    assert round_.algorithm == Round.Algorithm.DPO
    assert round_.launched_by == admin_lead
    assert round_.policy_settings == QUICK["policy_settings"]
    assert round_.reward_settings == QUICK["reward_settings"]
    assert round_.generation_settings == QUICK["generation_settings"]
    haiku = Prompt.objects.get(project=project, text="Write a haiku")
    assert round_.prompt_ids == [*fresh, haiku.pk]
    assert len(queued) == 1
    page = lead_client.get(live)
    assert page.status_code == 200
    assert "Train reward model" in page.content.decode()


@pytest.mark.django_db(transaction=True)
def test_setting_errors_stand_next_to_their_field_and_a_running_round_blocks(
    ranked_project, lead_client, queued
):
    ranked_project()
    page = lead_client.get(LAUNCH)
    response = lead_client.post(LAUNCH, form_data(page, generation__k=9))
    assert (
        "K=9 is outside this project's range 2–4."
        in (response.context["form"].errors["generation__k"])
    )
    assert not Round.objects.exists()
    lead_client.post(LAUNCH, form_data(page))
    again = lead_client.get(LAUNCH)
    assert "Round 1 is still training reward model" in again.content.decode()
    refused = lead_client.post(LAUNCH, form_data(page))
    assert "Round 1 is still" in " ".join(refused.context["form"].non_field_errors())
    assert Round.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_status_json_then_cancel_from_the_admin(ranked_project, lead_client, queued):
    project = ranked_project()
    round_ = services.round_launch(
        project=project, request=services.LaunchRequest(**QUICK)
    )
    status = lead_client.get(
        reverse("admin:training_round_status", args=[round_.pk])
    ).json()
    assert set(status) == {
        "round",
        "steps",
        "runs",
        "log",
        "lineage",
        "evaluation",
        "plot_versions",
    }
    assert status["round"]["state"] == "training_reward"
    assert status["round"]["can_cancel"] and not status["round"]["can_relaunch"]
    assert [s["status"] for s in status["steps"]] == [
        "done",
        "current",
        "todo",
        "todo",
        "todo",
        "todo",
    ]
    (run,) = status["runs"]
    assert (run["kind"], run["status"], run["percent"]) == ("train_reward", "queued", 0)
    assert status["lineage"]["snapshot"].startswith(f"snapshot {round_.snapshot_id}")
    assert set(status["plot_versions"]) == set(PLOT_DESCRIPTIONS)
    record = lead_client.get(reverse("admin:training_round_change", args=[round_.pk]))
    live = reverse("admin:training_round_live", args=[round_.pk])
    assert live in record.content.decode()

    cancel = reverse("admin:training_round_cancel", args=[round_.pk])
    assert lead_client.get(cancel).status_code == 405
    lead_client.post(cancel)
    round_.refresh_from_db()
    assert round_.state == Round.State.CANCELLED
    assert round_.runs.get().status == TrainingRun.Status.CANCELLED
    page = lead_client.post(cancel, follow=True)
    assert "there is nothing to cancel" in page.content.decode()


@pytest.mark.django_db(transaction=True)
def test_plots_are_png_before_and_after_a_round(ranked_project, lead_client, queued):
    project = ranked_project()
    round_ = services.round_launch(
        project=project, request=services.LaunchRequest(algorithm="ppo", **QUICK)
    )

    def plots() -> dict[str, bytes]:
        images = {}
        for name in PLOT_DESCRIPTIONS:
            url = reverse("admin:training_round_plot", args=[round_.pk, name])
            response = lead_client.get(url)
            assert response.status_code == 200
            assert response["Content-Type"] == "image/png"
            assert response.content.startswith(PNG_MAGIC)
            images[name] = response.content
        return images

    empty = plots()
    assert len(set(empty.values())) == len(empty)  # each says "no data yet" titled
    assert drain(queued) == ["succeeded"] * 4
    drawn = plots()
    assert all(drawn[name] != empty[name] for name in PLOT_DESCRIPTIONS)
    missing = reverse("admin:training_round_plot", args=[round_.pk, "nope"])
    assert lead_client.get(missing).status_code == 404


@pytest.fixture
def policies(ranked_project) -> tuple[ModelVersion, ModelVersion]:
    """A base policy and one trained from it, with metrics to compare."""
    project = ranked_project(n_ranked=0)
    base = services.base_policy_version(project)
    trained = ModelVersion.objects.create(
        project=project,
        kind=ModelVersion.Kind.POLICY,
        name="hand-trained policy",
        path="/models/trained",
        parent=base,
        metrics={"steps": 12, "evaluation": {"kl": 0.25, "mean_reward": 1.5}},
    )
    return base, trained


def test_compare_promote_and_roll_back(policies, lead_client):
    base, trained = policies
    compare = reverse("admin:training_modelversion_compare")
    page = lead_client.get(f"{compare}?left={base.pk}&right={trained.pk}")
    assert page.status_code == 200
    rows = {row.label: (row.left, row.right) for row in page.context["rows"]}
    assert rows["name"] == (base.name, trained.name)
    assert rows["parent"] == ("—", str(base))
    # A version's own-round evaluation had its own judge; shared-judge rows replace it.
    assert "evaluation.kl" not in rows and "judge score" not in rows
    assert rows["steps"] == ("—", "12")

    record = reverse("admin:training_modelversion_change", args=[trained.pk])
    assert lead_client.get(record).status_code == 200
    promote = reverse("admin:training_modelversion_promote", args=[trained.pk])
    asked = lead_client.post(promote, {"next": "https://elsewhere.example/"})
    assert asked.context["detail"] == (
        f"The next round of {base.project} will start from {trained.name}."
    )
    assert services.current_policy(base.project) is None  # asked, not promoted
    done = lead_client.post(
        promote, {"next": "https://elsewhere.example/", "confirmed": "yes"}
    )
    assert done.url == reverse("admin:training_modelversion_changelist")
    assert services.current_policy(base.project) == trained
    changelist = lead_client.get(reverse("admin:training_modelversion_changelist"))
    assert changelist.context["current_policies"] == [(base.project, trained)]
    assert f"Roll back to {base.name}" in changelist.content.decode()

    rollback = reverse("admin:training_modelversion_rollback", args=[base.project_id])
    asked = lead_client.post(rollback)
    assert f"Yes, roll back to {base.name}" in asked.content.decode()
    assert services.current_policy(base.project) == trained
    lead_client.post(rollback, {"confirmed": "yes"})
    assert services.current_policy(base.project) == base
    refused = lead_client.post(rollback, follow=True)
    assert "has no earlier policy to roll back to" in refused.content.decode()


def _row(version, number, roles, score, win, kl) -> dict[str, Any]:
    """An evaluation row as the evaluate step writes it."""
    return {
        "version": version.pk,
        "name": version.name,
        "round": number,
        "roles": roles,
        "sampling": "plain",
        "judge_score": score,
        "win_rate_vs_base": win,
        "win_rate_vs_parent": None if number == 0 else win,
        "kl_to_base": kl,
        "kl_to_parent": None if number == 0 else kl,
        "mean_length": 10.0,
        "distinct_1": 0.5,
        "distinct_2": 0.75,
    }


@pytest.fixture
def evaluated_round(policies) -> Round:
    """Round 1 done: its judge scored the base and the trained policy."""
    base, trained = policies
    judge = ModelVersion.objects.create(
        project=base.project, kind="reward", name="round 1 reward model", path="/rm"
    )
    round_ = Round.objects.create(
        project=base.project,
        number=1,
        algorithm="dpo",
        state=Round.State.DONE,
        base_policy=base,
        policy=trained,
        reward_model=judge,
        evaluation={
            "judge": {"id": judge.pk, "name": judge.name},
            "prompt_ids": [1, 2],
            "policies": [
                _row(base, 0, ["base", "parent"], -0.2, 0.5, 0.0),
                _row(trained, 1, ["new"], 0.3, 0.75, 1.25),
            ],
            "points": [{"reward": 0.3, "length": 10.0, "kl": 1.25}],
        },
    )
    ModelVersion.objects.filter(pk=trained.pk).update(round=round_)
    return round_


def test_compare_shows_both_versions_under_one_judge_with_curves(
    evaluated_round, policies, lead_client
):
    base, trained = policies
    compare = reverse("admin:training_modelversion_compare")
    page = lead_client.get(f"{compare}?left={base.pk}&right={trained.pk}")
    rows = {row.label: (row.left, row.right) for row in page.context["rows"]}
    assert rows["evaluated by"] == ("round 1 reward model",) * 2
    assert rows["judge score"] == ("-0.200", "+0.300")
    assert rows["win rate vs base"] == ("50%", "75%")
    assert rows["KL to base"] == ("0.000", "1.250")
    assert rows["KL to parent"] == ("—", "1.250")
    assert "round 1 reward model (round 1)" in page.content.decode()
    plots = page.context["plots"]
    assert [plot["url"].split("?")[0].rsplit("/", 1)[1] for plot in plots] == [
        "judge_score.png",
        "win_rate.png",
        "kl.png",
    ]
    for plot in plots:
        response = lead_client.get(plot["url"])
        assert response["Content-Type"] == "image/png"
        assert response.content.startswith(PNG_MAGIC)
    unknown = reverse("admin:training_modelversion_compare_plot", args=["loss"])
    assert (
        lead_client.get(f"{unknown}?left={base.pk}&right={trained.pk}").status_code
        == 404
    )


def test_the_live_page_tabulates_the_lineage_and_plots_it(evaluated_round, lead_client):
    live = lead_client.get(
        reverse("admin:training_round_live", args=[evaluated_round.pk])
    )
    html = live.content.decode()
    assert "scored by one judge: round 1 reward model" in html
    assert "<td>R1</td><td>hand-trained policy</td><td>new</td>" in html
    status_url = reverse("admin:training_round_status", args=[evaluated_round.pk])
    evaluation = lead_client.get(status_url).json()["evaluation"]
    assert evaluation["columns"][:3] == [
        "judge score",
        "win rate vs base",
        "win rate vs parent",
    ]
    assert [row["values"][:2] for row in evaluation["rows"]] == [
        ["-0.200", "50%"],
        ["+0.300", "75%"],
    ]
    assert evaluation["rows"][0]["roles"] == "base, parent"
    (trained,) = ModelVersion.objects.filter(round=evaluated_round)
    trained.metrics = {"evaluation": evaluated_round.evaluation["policies"][1]}
    assert selectors.key_metrics(trained) == (
        "judge score +0.300, win rate vs base 75%, KL to base 1.250"
    )


def test_a_lead_chooses_the_evaluation_prompts_in_the_admin(
    ranked_project, lead_client, admin_lead
):
    project = ranked_project(n_fresh=3)
    lead_client.get(LAUNCH)  # the launch page froze one
    held_out = EvaluationSet.objects.get(project=project)
    change = reverse("admin:training_evaluationset_change", args=[held_out.pk])
    page = lead_client.get(change)
    assert page.status_code == 200
    choices = page.context["adminform"].form.fields["prompts"].queryset
    fresh = sorted(choices.values_list("pk", flat=True))
    assert len(fresh) == 3  # only prompts without outputs can be held out
    response = lead_client.post(change, {"project": project.pk, "prompts": fresh[:2]})
    assert response.status_code == 302
    held_out.refresh_from_db()
    assert (held_out.prompt_ids, held_out.chosen_by) == (fresh[:2], admin_lead)
    assert list(services.fresh_prompts(project).values_list("pk", flat=True)) == [
        fresh[2]
    ]
    changelist = lead_client.get(reverse("admin:training_evaluationset_changelist"))
    assert "lena_lead" in changelist.content.decode()


def test_the_compare_action_needs_exactly_two_versions(policies, lead_client):
    base, trained = policies
    changelist = reverse("admin:training_modelversion_changelist")
    one = lead_client.post(
        changelist,
        {"action": "compare_two", "_selected_action": [base.pk]},
        follow=True,
    )
    assert "Select exactly two versions; 1 selected." in one.content.decode()
    two = lead_client.post(
        changelist, {"action": "compare_two", "_selected_action": [base.pk, trained.pk]}
    )
    assert two.url.endswith(f"?left={base.pk}&right={trained.pk}")


def test_the_promote_action_asks_before_it_acts(policies, lead_client):
    base, trained = policies
    changelist = reverse("admin:training_modelversion_changelist")
    asked = lead_client.post(
        changelist, {"action": "promote_one", "_selected_action": [trained.pk]}
    )
    assert f"Yes, promote {trained.name}" in asked.content.decode()
    assert asked.context["action"] == reverse(
        "admin:training_modelversion_promote", args=[trained.pk]
    )
    assert services.current_policy(base.project) is None  # asked, not promoted


def test_staff_who_do_not_lead_a_project_cannot_launch_or_watch_its_rounds(
    ranked_project, client, django_user_model
):
    project = ranked_project()
    other = ranked_project(n_ranked=0, slug="other")
    staff = django_user_model.objects.create_user("sam_staff", is_staff=True)
    client.force_login(staff)
    assert client.get(LAUNCH).status_code == 403  # leads no project at all

    from annotate.services import membership_set

    membership_set(project=other, user=staff, role="lead")
    page = client.get(LAUNCH)
    assert list(page.context["form"].fields["project"].queryset) == [other]
    assert client.get(f"{LAUNCH}?project={project.pk}").status_code == 403
    response = client.post(LAUNCH, {"project": project.pk, "algorithm": "dpo"})
    assert response.status_code == 403
    assert not Round.objects.exists()
    round_ = Round.objects.create(
        project=project,
        number=1,
        algorithm="dpo",
        base_policy=services.base_policy_version(project),
    )
    for name in ("live", "status"):
        url = reverse(f"admin:training_round_{name}", args=[round_.pk])
        assert client.get(url).status_code == 403


def test_round_list_shows_the_current_job_without_a_query_per_row(
    ranked_project, lead_client, django_assert_max_num_queries
):
    project = ranked_project(n_ranked=0)
    base = services.base_policy_version(project)
    for number in (1, 2, 3):
        round_ = Round.objects.create(
            project=project, number=number, algorithm="dpo", base_policy=base
        )
        TrainingRun.objects.create(round=round_, kind="train_reward", progress=0.5)
    changelist = reverse("admin:training_round_changelist")
    with django_assert_max_num_queries(12):
        page = lead_client.get(changelist)
    html = page.content.decode()
    assert html.count('<progress max="100" value="50">') == 3
    assert reverse("admin:training_round_launch") in html


@pytest.mark.django_db(transaction=True)
def test_a_dead_workers_job_fails_on_the_next_poll_and_the_round_relaunches(
    ranked_project, lead_client, queued
):
    project = ranked_project()
    round_ = services.round_launch(
        project=project, request=services.LaunchRequest(**QUICK)
    )
    long_ago = timezone.now() - timedelta(hours=1)
    round_.runs.update(
        status=TrainingRun.Status.RUNNING, worker="gpu-7", heartbeat_at=long_ago
    )
    status_url = reverse("admin:training_round_status", args=[round_.pk])
    relaunch = reverse("admin:training_round_relaunch", args=[round_.pk])
    status = lead_client.get(status_url).json()
    assert status["round"]["state"] == "failed"
    assert "Worker gpu-7 stopped responding" in status["runs"][0]["error"]
    assert status["round"]["can_relaunch"]
    assert [s["status"] for s in status["steps"]][:2] == ["done", "failed"]

    lead_client.post(relaunch)
    status = lead_client.get(status_url).json()
    assert status["round"]["state"] == "training_reward"
    assert [(r["attempt"], r["status"]) for r in status["runs"]] == [
        (1, "failed"),
        (2, "queued"),
    ]
    refused = lead_client.post(relaunch, follow=True)
    assert "Only a failed round can be relaunched" in refused.content.decode()


@pytest.mark.django_db(transaction=True)
def test_cancelling_a_running_job_waits_for_its_next_step(
    ranked_project, lead_client, queued
):
    project = ranked_project()
    round_ = services.round_launch(
        project=project, request=services.LaunchRequest(**QUICK)
    )
    round_.runs.update(status=TrainingRun.Status.RUNNING, heartbeat_at=timezone.now())
    cancel = reverse("admin:training_round_cancel", args=[round_.pk])
    page = lead_client.post(cancel, follow=True)
    said = [str(message) for message in page.context["messages"]]
    assert said == ["Round 1 stops at its job's next step."]
    status = page.context["status"]["round"]
    assert status["state"] == "training_reward"
    assert status["cancel_requested"] and not status["can_cancel"]


def test_processes_beyond_the_workers_gpus_are_refused_next_to_the_field(
    ranked_project, lead_client, settings
):
    settings.RANKWISE_WORKER_GPUS = 2
    ranked_project()
    page = lead_client.get(LAUNCH)
    assert page.context["form"]["launch__processes"].value() == 1
    response = lead_client.post(LAUNCH, form_data(page, launch__processes=3))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["launch__processes"] == [
        "3 processes need 3 GPUs; the workers have 2 (RANKWISE_WORKER_GPUS)."
    ]
    assert Round.objects.count() == 0
