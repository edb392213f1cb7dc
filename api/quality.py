"""A project's annotation quality and human leaderboard, for its leads.

GET /api/v1/projects/<id>/quality/      what `manage.py quality_report --json` prints
GET /api/v1/projects/<id>/leaderboard/  what `manage.py leaderboard --json` prints

Shapes in the README ("Annotation quality and the human leaderboard"). Members who do
not lead the project get 403; everyone else 404, as for the project itself.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotate.quality.selectors import quality_report_compute, quality_report_data
from api import permissions
from training.leaderboard import leaderboard_compute, leaderboard_data


def _user(request: Request) -> User:
    assert isinstance(request.user, User)  # the view's permission: authenticated
    return request.user


class QualityView(APIView):
    @extend_schema(
        responses={200: OpenApiTypes.OBJECT},
        description="Leads: the project's annotation quality, as `manage.py "
        'quality_report --json` prints it: {"project": {rankings, agreement, '
        'alpha_likert, alpha_flags, …}, "annotators": [{annotator, n, trust, '
        "trust_n, agreement, consensus_tau, gold_accuracy, position_bias, …}], "
        '"pairs": [{annotators, agreement, shared, prompts}]}.',
    )
    def get(self, request: Request, project_id: int) -> Response:
        project = permissions.led_project(
            _user(request), project_id, "see its quality figures"
        )
        report = quality_report_compute(project=project)
        return Response(quality_report_data(project=project, report=report))


class LeaderboardView(APIView):
    @extend_schema(
        responses={200: OpenApiTypes.OBJECT},
        description="Leads: the human leaderboard of the project's models, as "
        '`manage.py leaderboard --json` prints it: {"project", "rows": [{rank, '
        "model, model_version, source, score, low, high, comparisons, wins, "
        'prompts}], "win_rates", "counts", "prompts", "comparisons", "samples", '
        '"level", "prior"}; rows is empty until outputs of two models meet in '
        "one ranking.",
    )
    def get(self, request: Request, project_id: int) -> Response:
        project = permissions.led_project(
            _user(request), project_id, "see its leaderboard"
        )
        board = leaderboard_compute(project=project)
        return Response(leaderboard_data(project=project, board=board))
