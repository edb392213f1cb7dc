"""Data settings of a round (annotation quality) on the admin's launch form and page."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from training import selectors
from training.models import Round
from training.tests.fixtures_rounds import QUICK
from training.tests.test_admin_rounds import LAUNCH, QUICK_FIELDS, form_data


@pytest.fixture
def lead_client(client, lead):
    lead.is_staff = lead.is_superuser = True
    lead.save()
    client.force_login(lead)
    return client


def test_launch_form_offers_the_data_settings_with_their_meaning(
    ranked_project, lead_client
):
    ranked_project()
    form = lead_client.get(LAUNCH).context["form"]
    assert form["data__min_trust"].value() is None
    assert form["data__weighting"].value() == "none"
    assert form["data__aggregate"].value() == "none"
    assert "(empty: no minimum)" in form.fields["data__min_trust"].help_text
    choices = [value for value, _ in form.fields["data__aggregate"].choices]
    assert choices == ["none", "majority", "bradley-terry"]


def test_a_bad_minimum_trust_stands_next_to_its_field(ranked_project, lead_client):
    ranked_project()
    page = lead_client.get(LAUNCH)
    response = lead_client.post(LAUNCH, form_data(page, data__min_trust="1.5"))
    assert response.status_code == 200
    assert response.context["form"].errors["data__min_trust"] == [
        "1.5 is not a number from 0 to 1 (or empty)"
    ]
    assert not Round.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_launched_data_settings_are_in_the_snapshot_and_on_the_round_page(
    ranked_project, lead_client, queued
):
    ranked_project()  # one annotator: no shared prompt, so no trust figure
    page = lead_client.get(LAUNCH)
    data = form_data(
        page, data__weighting="trust", data__aggregate="majority", **QUICK_FIELDS
    )
    response = lead_client.post(LAUNCH, data)
    round_ = Round.objects.get()
    assert response.status_code == 302
    assert round_.policy_settings == QUICK["policy_settings"]
    details = round_.snapshot.details["data"]
    assert details["settings"] == {
        "min_trust": None,
        "weighting": "trust",
        "aggregate": "majority",
    }
    # Six prompts ranked once each: six one-ranking consensuses at the floor weight.
    assert round_.snapshot.ranking_count == 6
    assert details["weights"] == pytest.approx({"min": 0.05, "mean": 0.05, "max": 0.05})
    summary = (
        "no minimum trust, weighting trust, aggregate majority; 6 annotations used; "
        "weights 0.050 to 0.050, mean 0.050"
    )
    assert selectors.round_status(round_=round_)["lineage"]["data_selection"] == (
        summary
    )
    live = lead_client.get(reverse("admin:training_round_live", args=[round_.pk]))
    assert summary in live.content.decode()


@pytest.mark.django_db(transaction=True)
def test_run_round_takes_the_data_group(ranked_project, queued):
    project = ranked_project()
    out = StringIO()
    call_command(
        "run_round",
        "--project",
        project.slug,
        "--set",
        "data.weighting=trust",
        "--set",
        "data.aggregate=bradley-terry",
        stdout=out,
    )
    assert out.getvalue().startswith("round 1:")
    settings = Round.objects.get().snapshot.details["data"]["settings"]
    assert settings == {
        "min_trust": None,
        "weighting": "trust",
        "aggregate": "bradley-terry",
    }
    with pytest.raises(CommandError, match="data_settings.weighting: .heavy. is not"):
        call_command(
            "run_round", "--project", project.slug, "--set", "data.weighting=heavy"
        )
