"""The demo project: users, prompts and outputs of visibly different quality."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from annotate.demo_content import DEMO_PROMPTS, NEXT_ROUND_PROMPTS
from annotate.models import Membership, Project
from annotate.services import candidate_create, membership_set, prompt_create

DEMO_SLUG = "demo"
DEMO_INSTRUCTIONS = """\
You will see a **prompt** and several **outputs** written by different assistants.

1. Read the prompt, then every output. Long outputs open with *Show all*.
2. **Rate** each output from 1 (terrible) to 7 (excellent) for how helpful, truthful
   and harmless it is.
3. **Flag** anything on the checklist that applies to an output.
4. **Rank** the outputs from best to worst by dragging them into the rank buckets.
   Outputs that are equally good may share a bucket.
5. Add a note if something is odd, then submit. Skip, with a reason, if you
   cannot judge.

Prefer truthful and harmless over merely helpful when they conflict.
"""


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str


DEMO_LOGINS = (
    DemoLogin("lead", "rankwise-lead", Membership.Role.LEAD),
    DemoLogin("annotator1", "rankwise-annotator1", Membership.Role.ANNOTATOR),
    DemoLogin("annotator2", "rankwise-annotator2", Membership.Role.ANNOTATOR),
)


@transaction.atomic
def demo_seed() -> tuple[Project, int, int]:
    """Create or complete the demo project; returns it and the prompts/outputs added."""
    project, _ = Project.objects.get_or_create(
        slug=DEMO_SLUG,
        defaults={
            "name": "Demo: helpful and harmless assistant",
            "instructions": DEMO_INSTRUCTIONS,
            "annotations_per_prompt": 2,
        },
    )
    users = get_user_model().objects
    for login in DEMO_LOGINS:
        user, created = users.get_or_create(
            username=login.username, defaults={"is_staff": login.role == "lead"}
        )
        if created:
            user.set_password(login.password)
            if login.role == Membership.Role.LEAD:
                user.is_superuser = True
            user.save()
        membership_set(project=project, user=user, role=login.role)
    added_prompts = added_outputs = 0
    for demo in DEMO_PROMPTS:
        messages = [{"role": role, "content": text} for role, text in demo.messages]
        prompt, created = prompt_create(
            project=project,
            text=demo.text or "",
            messages=messages,
            metadata={"category": demo.category},
        )
        added_prompts += created
        for candidate in demo.candidates:
            _, created = candidate_create(
                prompt=prompt,
                text=candidate.text,
                source=candidate.source,
                generation_settings={"demo_quality": candidate.quality},
            )
            added_outputs += created
    for text in NEXT_ROUND_PROMPTS:
        _, created = prompt_create(
            project=project, text=text, metadata={"category": "next round"}
        )
        added_prompts += created
    return project, added_prompts, added_outputs
