"""Who sees what through the API.

Leads (and staff) see everything in the projects they lead. Annotators see their own
assignments in projects they still belong to, the prompts and outputs of those, and
their own annotations; never another annotator's. Objects outside that are not found.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import User
from django.db.models import Model, Q, QuerySet
from rest_framework.exceptions import PermissionDenied

from annotate.models import (
    Annotation,
    Assignment,
    Candidate,
    Comparison,
    Membership,
    Project,
    Prompt,
)


def led_project_ids(user: User) -> QuerySet:
    """Ids of the projects the user leads (every project for staff), as a subquery."""
    if user.is_staff:
        return Project.objects.values_list("id", flat=True)
    return Membership.objects.filter(user=user, role=Membership.Role.LEAD).values_list(
        "project_id", flat=True
    )


def _own_assignments(user: User) -> QuerySet[Assignment]:
    return Assignment.objects.filter(
        annotator=user, prompt__project__membership__user=user
    )


def _visible(
    model: type[Model], user: User, *, project: str, own: str, own_column: str
) -> QuerySet:
    """Rows of the projects the user leads, or tied to their own assignments."""
    return model._default_manager.filter(
        Q(**{f"{project}__in": led_project_ids(user)})
        | Q(**{f"{own}__in": _own_assignments(user).values(own_column)})
    )


def visible_assignments(user: User) -> QuerySet[Assignment]:
    return _visible(
        Assignment, user, project="prompt__project_id", own="id", own_column="id"
    )


def visible_prompts(user: User) -> QuerySet[Prompt]:
    return _visible(
        Prompt, user, project="project_id", own="id", own_column="prompt_id"
    )


def visible_candidates(user: User) -> QuerySet[Candidate]:
    return _visible(
        Candidate,
        user,
        project="prompt__project_id",
        own="prompt_id",
        own_column="prompt_id",
    )


def visible_annotations(user: User) -> QuerySet[Annotation]:
    return _visible(
        Annotation,
        user,
        project="assignment__prompt__project_id",
        own="assignment_id",
        own_column="id",
    )


def visible_comparisons(user: User) -> QuerySet[Comparison]:
    return _visible(
        Comparison,
        user,
        project="annotation__assignment__prompt__project_id",
        own="annotation__assignment_id",
        own_column="id",
    )


def member_projects(user: User) -> QuerySet[Project]:
    """Projects the user may name in a request body."""
    if user.is_staff:
        return Project.objects.all()
    return Project.objects.filter(membership__user=user)


def require_lead(user: User, project_ids: Iterable[int], action: str) -> None:
    """Refuse unless the user leads every one of these projects."""
    not_led = sorted(set(project_ids) - set(led_project_ids(user)))
    if not_led:
        raise PermissionDenied(
            f"Only a project's leads may {action}; you do not lead project(s) "
            f"{', '.join(map(str, not_led))}."
        )
