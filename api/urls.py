"""Routes of /api/v1/."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from api import auth, membership, quality, views

app_name = "api"

router = DefaultRouter()
router.register("projects", views.ProjectViewSet, basename="project")
router.register("prompts", views.PromptViewSet, basename="prompt")
router.register("candidates", views.CandidateViewSet, basename="candidate")
router.register("assignments", views.AssignmentViewSet, basename="assignment")
router.register("annotations", views.AnnotationViewSet, basename="annotation")
router.register("comparisons", views.ComparisonViewSet, basename="comparison")
router.register("exports", views.ExportViewSet, basename="export")
router.register("imports", views.ImportViewSet, basename="import")
router.register("rounds", views.RoundViewSet, basename="round")
router.register("model-versions", views.ModelVersionViewSet, basename="model-version")

urlpatterns = [
    path("auth/token/", auth.ObtainTokenView.as_view(), name="token"),
    path("auth/token/revoke/", auth.RevokeTokenView.as_view(), name="token-revoke"),
    path(
        "projects/<int:project_id>/members/",
        membership.MemberListView.as_view(),
        name="project-members",
    ),
    path(
        "projects/<int:project_id>/members/<str:username>/",
        membership.MemberDetailView.as_view(),
        name="project-member",
    ),
    path(
        "projects/<int:project_id>/quality/",
        quality.QualityView.as_view(),
        name="project-quality",
    ),
    path(
        "projects/<int:project_id>/leaderboard/",
        quality.LeaderboardView.as_view(),
        name="project-leaderboard",
    ),
    *router.urls,
]
