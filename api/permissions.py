"""Who sees what through the API.

Leads see everything in the projects they lead, by the one lead rule of
annotate.selectors (superusers lead every project; `is_staff` counts for nothing here).
Annotators see their own assignments in projects they still belong to, the prompts and
outputs of those, and their own annotations; never another annotator's. Objects
outside that are not found.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import User
from django.db.models import Model, Q, QuerySet
from rest_framework.exceptions import NotFound, PermissionDenied

from annotate import selectors
from annotate.models import (
    Annotation,
    Assignment,
    Candidate,
    Comparison,
    Project,
    Prompt,
)
from api.filters import MAX_ID


def led_project_ids(user: User) -> QuerySet:
    """Ids of the projects the user leads, as a subquery."""
    return selectors.projects_led_by(user=user).values_list("id", flat=True)


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
    """Projects the user may name in a request body: those they belong to."""
    return selectors.project_list_for_user(user=user)


def require_lead(user: User, project_ids: Iterable[int], action: str) -> None:
    """Refuse unless the user leads every one of these projects."""
    not_led = sorted(set(project_ids) - set(led_project_ids(user)))
    if not_led:
        raise PermissionDenied(
            f"Only a project's leads may {action}; you do not lead project(s) "
            f"{', '.join(map(str, not_led))}."
        )


def led_project(user: User, project_id: int, action: str) -> Project:
    """The project, if `user` belongs to it (else 404) and leads it (else 403)."""
    mine = selectors.project_list_for_user(user=user)
    # Ids past the database's integer range are simply not found.
    project = mine.filter(pk=project_id).first() if 1 <= project_id <= MAX_ID else None
    if project is None:
        raise NotFound(f"No project {project_id} among yours.")
    require_lead(user, [project.pk], action)
    return project
