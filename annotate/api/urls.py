"""Routes of /api/v1/."""

from django.urls import path
from rest_framework.authtoken.views import obtain_auth_token
from rest_framework.routers import DefaultRouter

from annotate.api import views

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
    path("auth/token/", obtain_auth_token, name="token"),
    *router.urls,
]
