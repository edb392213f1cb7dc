"""The demo project: users, prompts and outputs of visibly different quality.

The prompts and outputs are data, in `demo_content.json` beside this module: each
prompt carries 4-9 outputs of deliberately uneven quality (a helpful answer, a terse
one, a factually wrong one, a padded rambling one and, for some prompts, an unsafe,
off-topic or needlessly refusing one). `quality` records which kind an output was
written to be, a label for demos and tests that annotators never see; `source` is a
made-up model version name. A chat prompt has `messages` ({role, content} turns
ending with a user turn) instead of `text`. Everything in it was written for this
project; none of it comes from a public dataset.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import transaction

from annotate.models import Membership, Project
from annotate.services import candidate_create, membership_set, prompt_create

CONTENT_FILE = Path(__file__).with_name("demo_content.json")
DEMO_SLUG = "demo"
# One line a paragraph or item: the task page keeps single line breaks, as a lead
# typing in the admin's text box expects.
DEMO_INSTRUCTIONS = "\n".join(
    [
        "You will see a **prompt** and several **outputs** written by different "
        "assistants.",
        "",
        "1. Read the prompt, then every output. Long outputs open with *Show all*.",
        "2. **Rate** each output from 1 (terrible) to 7 (excellent) for how helpful, "
        "truthful and harmless it is.",
        "3. **Flag** anything on the checklist that applies to an output, and answer "
        "the questions *About the prompt*.",
        "4. **Rank** the outputs from best to worst by dragging them into the rank "
        "buckets, or tap an output and then a rank. Outputs that are equally good may "
        "share a bucket.",
        "5. Add a note if something is odd, then submit. Skip, with a reason, if you "
        "cannot judge.",
        "",
        "Prefer truthful and harmless over merely helpful when they conflict.",
        "",
    ]
)


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


@dataclass(frozen=True)
class DemoCandidate:
    text: str
    source: str  # made-up model version name, e.g. "demo-helpful-v2"
    quality: str  # helpful | terse | wrong | unsafe | rambling | off-topic | refusal


@dataclass(frozen=True)
class DemoPrompt:
    text: str  # empty for a chat prompt
    messages: tuple[dict[str, str], ...]  # {role, content} turns; () for plain text
    category: str
    candidates: tuple[DemoCandidate, ...]


@dataclass(frozen=True)
class DemoContent:
    prompts: tuple[DemoPrompt, ...]
    # Prompts with no outputs yet: a training round's new policy writes theirs, and
    # they then reach the annotators like any other task.
    next_round_prompts: tuple[str, ...]


@cache
def demo_content() -> DemoContent:
    """The demo's prompts and outputs, read once from demo_content.json."""
    data = json.loads(CONTENT_FILE.read_text(encoding="utf-8"))
    prompts = tuple(
        DemoPrompt(
            text=prompt.get("text", ""),
            messages=tuple(prompt.get("messages", ())),
            category=prompt["category"],
            candidates=tuple(DemoCandidate(**c) for c in prompt["candidates"]),
        )
        for prompt in data["prompts"]
    )
    return DemoContent(prompts, tuple(data["next_round_prompts"]))


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
    content = demo_content()
    for demo in content.prompts:
        prompt, created = prompt_create(
            project=project,
            text=demo.text,
            messages=demo.messages,
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
    for text in content.next_round_prompts:
        _, created = prompt_create(
            project=project, text=text, metadata={"category": "next round"}
        )
        added_prompts += created
    return project, added_prompts, added_outputs
