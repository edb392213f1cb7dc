"""Ten annotators at once against a live server: no error, every judgement stored once.

The README's REST API flow (token, next task, submit) from ten threads until the queue
is empty, by the simulated annotators of bench/load_annotators.py. On the default
settings this is `make run`'s embedded shape: Django's threaded server on an SQLite
file, where deferred transactions deadlocked on the lock upgrade and answered 500
"database is locked".
"""

from __future__ import annotations

from collections import Counter
from math import comb

from django.db import connection

from annotate.models import Annotation, Assignment, Comparison
from bench.load_annotators import run_annotators, tied_pairs

ANNOTATORS = 10
PROMPTS = 12
K = 4
OVERLAP = 3  # annotators per prompt: 36 submissions shared by ten annotators


def test_ten_annotators_at_once_get_no_error_and_store_each_judgement_once(
    live_server, make_project, django_user_model
):
    # An in-memory database would serve every request on one shared connection.
    assert connection.vendor != "sqlite" or not connection.is_in_memory_db()
    credentials = [(f"annotator{i}", f"pw-{i}-123") for i in range(ANNOTATORS)]
    users = [
        django_user_model.objects.create_user(username, password=password)
        for username, password in credentials
    ]
    project = make_project(
        k=K, n_prompts=PROMPTS, members=users, annotations_per_prompt=OVERLAP
    )

    logs = run_annotators(f"{live_server.url}/api/v1", credentials, project.pk, 60)

    # Expected: token 200 each, next 200 then 204 once each, submit 201; nothing else.
    unexpected = [line for log in logs for line in log.unexpected]
    answers = Counter(
        (endpoint, status) for log in logs for endpoint, status, _ in log.calls
    )
    assert not unexpected, f"{len(unexpected)} unexpected ({answers}): {unexpected[:3]}"
    assert answers == {
        ("token", 200): ANNOTATORS,
        ("next", 200): PROMPTS * OVERLAP,
        ("next", 204): ANNOTATORS,
        ("submit", 201): PROMPTS * OVERLAP,
    }
    stored = {aid: buckets for log in logs for aid, buckets in log.stored.items()}
    assert set(Annotation.objects.values_list("id", flat=True)) == set(stored)
    assert len(stored) == PROMPTS * OVERLAP
    submitted = Assignment.objects.filter(status=Assignment.Status.SUBMITTED)
    per_prompt = Counter(submitted.values_list("prompt_id", flat=True))
    assert sorted(per_prompt.values()) == [OVERLAP] * PROMPTS
    for annotation_id, buckets in stored.items():
        count = Comparison.objects.filter(annotation_id=annotation_id).count()
        assert count == comb(K, 2) - tied_pairs(buckets), annotation_id
    ties = sum(tied_pairs(buckets) for buckets in stored.values())
    assert ties > 0  # every second ranking ties its last two outputs
    assert Comparison.objects.count() == PROMPTS * OVERLAP * comb(K, 2) - ties
