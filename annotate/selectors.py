"""Read paths of the collection side: what pages and the API show."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from statistics import mean

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.db.models import Count, F, Q, QuerySet, Window
from django.db.models.functions import RowNumber

from annotate.models import (
    Annotation,
    Assignment,
    Comparison,
    Membership,
    Project,
    Prompt,
)

# What request.user is: a user, or the anonymous one.
AnyUser = AbstractBaseUser | AnonymousUser


@dataclass(frozen=True)
class AnnotatorProgress:
    submitted: int
    skipped: int
    available: int

    @property
    def done(self) -> int:
        """Tasks finished either way, submitted or skipped."""
        return self.submitted + self.skipped


def _is_superuser(user: AnyUser) -> bool:
    return bool(getattr(user, "is_superuser", False))


def projects_led_by(*, user: AnyUser) -> QuerySet[Project]:
    """The lead rule: every project for a superuser, else those with a lead membership.

    The one place that says who leads a project; the web pages, the API, both admins
    and rounds ask it. `is_staff` grants nothing here: it only opens the admin site.
    """
    if _is_superuser(user):
        return Project.objects.order_by("name")
    if user.pk is None:
        return Project.objects.none()
    return Project.objects.filter(
        membership__user_id=user.pk, membership__role=Membership.Role.LEAD
    ).order_by("name")


def user_leads(*, user: AnyUser, project: Project) -> bool:
    """Whether the lead rule lets the user lead this project."""
    return _is_superuser(user) or (
        user.pk is not None
        and Membership.objects.filter(
            project=project, user_id=user.pk, role=Membership.Role.LEAD
        ).exists()
    )


def user_leads_any(*, user: AnyUser) -> bool:
    """Whether the user leads at least one project (the admin's entry to its lists)."""
    return _is_superuser(user) or projects_led_by(user=user).exists()


def project_list_for_user(*, user: AnyUser) -> QuerySet[Project]:
    """Projects the user belongs to: a membership of any role (superusers: all)."""
    if _is_superuser(user):
        return Project.objects.order_by("name")
    if user.pk is None:
        return Project.objects.none()
    return Project.objects.filter(membership__user_id=user.pk).order_by("name")


def user_is_member(*, user: AnyUser, project: Project) -> bool:
    """Whether the user may take and submit the project's tasks (superusers: always)."""
    return _is_superuser(user) or (
        user.pk is not None
        and Membership.objects.filter(project=project, user_id=user.pk).exists()
    )


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
    """Tasks this annotator finished, and how many more they could still get.

    Unserved gold prompts are not counted: they come only mixed into ordinary work
    (services.assignment_next), so with no ordinary work left they never come.
    """
    mine = Assignment.objects.filter(prompt__project=project, annotator=annotator)
    ordinary = prompts_open_to(project=project, annotator=annotator).filter(
        gold__isnull=True
    )
    counts = mine.aggregate(
        submitted=Count("id", filter=Q(status=Assignment.Status.SUBMITTED)),
        skipped=Count("id", filter=Q(status=Assignment.Status.SKIPPED)),
        open=Count("id", filter=Q(status=Assignment.Status.OPEN)),
    )
    return AnnotatorProgress(
        submitted=counts["submitted"],
        skipped=counts["skipped"],
        available=counts["open"] + ordinary.count(),
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


def _median_seconds_per_task(project: Project) -> dict[str | None, float]:
    """Username → median seconds the annotator's submitted tasks took, in one query.

    The database ranks each annotator's times and sends back only the middle one or
    two, so a project with a million tasks sends a row or two per annotator.
    """
    timed = Assignment.objects.filter(
        prompt__project=project,
        status=Assignment.Status.SUBMITTED,
        time_spent_ms__isnull=False,
    ).annotate(
        position=Window(
            RowNumber(),
            partition_by=[F("annotator_id")],
            order_by=[F("time_spent_ms").asc(), F("id").asc()],
        ),
        n=Window(Count("id"), partition_by=[F("annotator_id")]),
    )
    # Integer division: n = 5 keeps position 3, n = 4 positions 2 and 3.
    middle = timed.filter(
        position__gte=(F("n") + 1) / 2, position__lte=F("n") / 2 + 1
    ).values_list("annotator__username", "time_spent_ms")
    times: dict[str | None, list[int]] = defaultdict(list)
    for username, ms in middle:
        if ms is not None:  # filtered out above; the type does not know
            times[username].append(ms)
    return {username: mean(ms) / 1000 for username, ms in times.items()}


def project_counts(*, project: Project) -> ProjectCounts:
    """Totals for the lead's project page, and a row per annotator (with the median
    seconds per submitted task, None where none was timed)."""
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
    medians = _median_seconds_per_task(project)
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
        per_annotator=[
            {**row, "median_seconds": medians.get(row["annotator__username"])}
            for row in per_annotator
        ],
    )
