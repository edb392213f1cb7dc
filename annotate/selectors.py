"""Read paths of the collection side: what pages and the API show."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db.models import Count, Q, QuerySet

from annotate.models import (
    Annotation,
    Assignment,
    Comparison,
    Membership,
    Project,
    Prompt,
)


@dataclass(frozen=True)
class AnnotatorProgress:
    done: int
    available: int


def project_list_for_user(*, user: User) -> QuerySet[Project]:
    """Projects the user belongs to (every project for staff)."""
    projects = Project.objects.all()
    if not user.is_staff:
        projects = projects.filter(membership__user=user)
    return projects.order_by("name").distinct()


def user_is_member(*, user: User, project: Project) -> bool:
    return Membership.objects.filter(project=project, user=user).exists()


def user_is_lead(*, user: User, project: Project) -> bool:
    if user.is_staff:
        return True
    return Membership.objects.filter(
        project=project, user=user, role=Membership.Role.LEAD
    ).exists()


def prompts_open_to(*, project: Project, annotator: User) -> QuerySet[Prompt]:
    """Prompts the annotator has never had that still need judges, fewest judged first.

    Skipped assignments free their place; prompts whose number of outputs is outside
    the project's K range are never handed out.
    """
    return (
        Prompt.objects.filter(project=project)
        .exclude(assignments__annotator=annotator)
        .annotate(
            n_candidates=Count("candidates", distinct=True),
            n_taken=Count(
                "assignments",
                filter=~Q(assignments__status=Assignment.Status.SKIPPED),
                distinct=True,
            ),
        )
        .filter(
            n_candidates__gte=project.min_k,
            n_candidates__lte=project.max_k,
            n_taken__lt=project.annotations_per_prompt,
        )
        .order_by("n_taken", "id")
    )


def annotator_progress(*, project: Project, annotator: User) -> AnnotatorProgress:
    """Tasks this annotator finished, and how many more they could still get."""
    mine = Assignment.objects.filter(prompt__project=project, annotator=annotator)
    return AnnotatorProgress(
        done=mine.exclude(status=Assignment.Status.OPEN).count(),
        available=mine.filter(status=Assignment.Status.OPEN).count()
        + prompts_open_to(project=project, annotator=annotator).count(),
    )


@dataclass(frozen=True)
class ProjectCounts:
    prompts: int
    candidates: int
    annotations: int
    skipped: int
    comparisons: int
    per_annotator: list[dict[str, object]]


def _distinct_count(status: str) -> Count:
    """Assignments in `status`, each counted once whatever it is joined to."""
    return Count("id", filter=Q(status=status), distinct=True)


def project_counts(*, project: Project) -> ProjectCounts:
    """Totals for the lead's project page, and a row per annotator."""
    annotations = Annotation.objects.filter(assignment__prompt__project=project)
    per_annotator = (
        Assignment.objects.filter(prompt__project=project)
        .values("annotator__username")
        .annotate(
            # distinct: the join to comparisons repeats each assignment per pair.
            submitted=_distinct_count(Assignment.Status.SUBMITTED),
            skipped=_distinct_count(Assignment.Status.SKIPPED),
            open=_distinct_count(Assignment.Status.OPEN),
            comparisons=Count("annotation__comparisons"),
        )
        .order_by("annotator__username")
    )
    return ProjectCounts(
        prompts=project.prompts.count(),
        candidates=Prompt.objects.filter(project=project).aggregate(
            n=Count("candidates")
        )["n"],
        annotations=annotations.filter(skipped=False).count(),
        skipped=annotations.filter(skipped=True).count(),
        comparisons=Comparison.objects.filter(
            annotation__assignment__prompt__project=project
        ).count(),
        per_annotator=list(per_annotator),
    )
