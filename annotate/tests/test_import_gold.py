"""Gold references from an import: a judged row with `"gold": true` becomes its
prompt's reference ranking, as a lead setting it in the admin would."""

from __future__ import annotations

import pytest

from annotate.importing.outcome import ImportRejected
from annotate.importing.service import import_records
from annotate.models import Annotation, GoldRanking, Prompt
from annotate.services import candidate_create, prompt_create

pytestmark = pytest.mark.django_db

RANKED = {
    "prompt": "Name a prime number.",
    "completions": ["Seven.", "Nine.", "Four."],
    "ranks": [1, 2, 2],
}


def test_a_gold_row_becomes_its_prompts_reference(make_project):
    project = make_project(n_prompts=0)
    other = {**RANKED, "prompt": "Name an even number."}
    report = import_records(
        project=project,
        records=[{**RANKED, "gold": True}, other],
        source_name="gold.jsonl",
    )
    assert report.added["gold references"] == 1
    assert "gold references: 1 set" in report.lines()
    gold = GoldRanking.objects.get()
    assert gold.prompt.text == "Name a prime number."
    by_text = {
        gold.prompt.candidates.get(pk=int(output)).text: rank
        for output, rank in gold.ranks.items()
    }
    assert by_text == {"Seven.": 1, "Nine.": 2, "Four.": 2}
    assert gold.created_by is None
    # The row is also stored as an imported judgement, like any other.
    assert Annotation.objects.filter(source=Annotation.Source.IMPORTED).count() == 2


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (
            {**RANKED, "gold": "yes"},
            "row 1: field 'gold' is a str; expected true or false",
        ),
        (
            {"prompt": "Name a prime number.", "gold": True},
            "row 1: field 'gold' is true on a row without a judgement; expected a "
            "ranked row (rankings, pairs or rated outputs) to be the prompt's "
            "reference",
        ),
        (
            {**RANKED, "ranks": [1, 1, 1], "gold": True},
            "row 1: field 'gold' is true on a row that ties every output; a "
            "reference needs at least two different ranks",
        ),
    ],
)
def test_a_bad_gold_field_is_a_row_error(make_project, record, message):
    project = make_project(n_prompts=0)
    with pytest.raises(ImportRejected) as rejected:
        import_records(project=project, records=[record], source_name="bad.jsonl")
    assert [str(error) for error in rejected.value.errors] == [message]
    assert not Prompt.objects.exists() and not GoldRanking.objects.exists()


def test_a_gold_row_must_rank_every_output_of_its_prompt(make_project):
    project = make_project(n_prompts=0)
    prompt, _ = prompt_create(project=project, text="Name a prime number.")
    candidate_create(prompt=prompt, text="Eleven.", source="seed")
    with pytest.raises(ImportRejected) as rejected:
        import_records(
            project=project,
            records=[{**RANKED, "gold": True}],
            source_name="gold.jsonl",
        )
    assert [str(error) for error in rejected.value.errors] == [
        "row 1: field 'gold': the prompt has 4 outputs and the row ranks 3; a gold "
        "reference ranks every output of its prompt"
    ]
    # All or nothing: the row's outputs and judgement went with the refusal.
    assert prompt.candidates.count() == 1
    assert not Annotation.objects.exists() and not GoldRanking.objects.exists()
