"""A project's flag checklists: each flag's key, label and one-line description.

A project has two, in the same form: `flags`, asked of every output, and
`prompt_flags`, asked once per task about the prompt. Judgements and annotations
store flag keys, never labels, so a lead may reword a label or a description at
any time; `Project.checklist_errors` refuses to drop a key that is in use.
"""

from __future__ import annotations

import re
from collections import Counter

FLAG_FIELDS = ("key", "label", "description")
FLAG_KEY = re.compile(r"[-a-zA-Z0-9_]+")  # the API's SlugField, and safe in HTML ids
KEY_MAX, LABEL_MAX, DESCRIPTION_MAX = 50, 200, 300


def flag_schema_errors(flags: object) -> list[str]:
    """Each problem with a checklist's shape, naming the flag by position and key."""
    if not isinstance(flags, list):
        return ["Expected a list of flags, each with a key, a label and a description."]
    errors = [
        error for n, flag in enumerate(flags, 1) for error in _flag_errors(n, flag)
    ]
    keys = Counter(flag.get("key") for flag in flags if isinstance(flag, dict))
    repeated = sorted(str(key) for key, count in keys.items() if count > 1)
    if repeated:
        errors.append(f"Flag keys must be unique; repeated: {', '.join(repeated)}.")
    return errors


def _flag_errors(n: int, flag: object) -> list[str]:
    if not isinstance(flag, dict):
        return [f"Flag {n}: expected an object with a key, a label and a description."]
    key, label = flag.get("key"), flag.get("label")
    description = flag.get("description", "")
    name = f"Flag {n} ({key})" if isinstance(key, str) and key else f"Flag {n}"
    errors = []
    if not isinstance(key, str) or not FLAG_KEY.fullmatch(key) or len(key) > KEY_MAX:
        errors.append(
            f"{name}: the key must be 1–{KEY_MAX} letters, digits, _ or -, got {key!r}."
        )
    if not isinstance(label, str) or not label.strip() or len(label) > LABEL_MAX:
        errors.append(f"{name}: the label must be 1–{LABEL_MAX} characters.")
    if (
        not isinstance(description, str)
        or len(description) > DESCRIPTION_MAX
        or "\n" in description
    ):
        errors.append(
            f"{name}: the description must be one line of at most "
            f"{DESCRIPTION_MAX} characters."
        )
    unknown = sorted(set(flag) - set(FLAG_FIELDS))
    if unknown:
        errors.append(
            f"{name}: unknown field(s) {', '.join(unknown)}; expected "
            f"{', '.join(FLAG_FIELDS)}."
        )
    return errors


def flag_removal_errors(
    *, removed: list[str], used: Counter[str], counted: str = "judgement"
) -> list[str]:
    """A refusal per removed key that stored rows (`counted`: judgements of outputs,
    annotations for prompt flags) tick, with how many tick it."""
    return [
        f"Flag '{key}' is ticked in {used[key]} {counted}"
        f"{'' if used[key] == 1 else 's'} of this project, so it cannot be removed "
        "or renamed; keep its key and change its label or description instead."
        for key in removed
        if used[key]
    ]
