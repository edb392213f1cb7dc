"""Template tags of the admin's review queue: links to the leads' quality pages."""

from __future__ import annotations

from typing import Any

from django import template

from annotate import selectors
from annotate.models import Project

register = template.Library()

# The review queue's project filter (AnnotationAdmin.list_filter) as a query key.
PROJECT_FILTER = "assignment__prompt__project__id__exact"


@register.simple_tag(takes_context=True)
def quality_pages(context: dict[str, Any]) -> list[Project]:
    """The project the queue is filtered to, else every project the user leads."""
    request = context["request"]
    led = selectors.projects_led_by(user=request.user)
    chosen = request.GET.get(PROJECT_FILTER, "")
    if chosen.isdigit():
        led = led.filter(pk=int(chosen))
    return list(led)
