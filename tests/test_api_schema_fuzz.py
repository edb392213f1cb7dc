"""Fuzz the REST API from its own OpenAPI schema (schemathesis, through WSGI).

Every operation gets a bounded, derandomised set of generated requests, valid and
invalid, sent with a staff lead's and then an annotator's token against a seeded
project. Each response must not be a server error and must match the schema:
documented status code, content type, headers and body. Two checks judge the
inputs rather than the answers and are left out: a schema cannot say "the id of an
open task of yours", so valid-looking requests are rightly refused
(positive_data_acceptance); and DRF reads JSON leniently, taking "5" for 5 or 0 for
"0", by design (negative_data_rejection).
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token

from annotate.models import Membership
from annotate.services import assignment_next, membership_set
from config.wsgi import application


@pytest.fixture(params=["staff_lead", "annotator"])
def seeded_token(request, make_project, lead, annotator):
    """A token over a project with open tasks: a staff lead's, then an annotator's."""
    lead.is_staff = True
    lead.save(update_fields=["is_staff"])
    project = make_project(k=3, n_prompts=4, members=[annotator])
    membership_set(project=project, user=lead, role=Membership.Role.LEAD)
    assignment_next(project=project, annotator=annotator)
    assignment_next(project=project, annotator=lead)
    user = lead if request.param == "staff_lead" else annotator
    return Token.objects.create(user=user).key


@pytest.fixture
def connection_kept_across_requests():
    """What Django's test client does: a request must not close the test's connection.

    Requests go straight to the WSGI app here, whose end-of-request handler would
    close the connection holding the test's open transaction.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


# Schema generation reads no rows, so the schema can be loaded at collection time.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_every_generated_request_within_its_schema(
    case, seeded_token, connection_kept_across_requests
):
    case.call_and_validate(
        headers={"Authorization": f"Token {seeded_token}"},
        excluded_checks=[
            schemathesis.checks.positive_data_acceptance,
            schemathesis.checks.negative_data_rejection,
        ],
    )
