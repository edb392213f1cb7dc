# Data migration: rankings stored with empty buckets in them ([[], [a], [b]] gave
# ranks 2 and 3) are renumbered 1, 2, … and their comparisons' rank gaps with them.

from django.db import migrations
from django.db.models import Count, F, Max

BATCH = 500


def compact_rank_gaps(apps, schema_editor):
    """Close the gaps empty buckets left, keeping each ranking's order and ties."""
    # The app's definition, not a frozen copy: stored ranks are what it makes.
    from annotate.ranking import dense_ranks

    annotations = apps.get_model("annotate", "Annotation").objects
    judgements = apps.get_model("annotate", "Judgement").objects
    comparisons = apps.get_model("annotate", "Comparison").objects
    # Read in full before writing: SQLite does not isolate a running read from
    # writes to the same table.
    gapped = list(
        annotations.annotate(
            worst=Max("judgements__rank"),
            used=Count("judgements__rank", distinct=True),
        )
        .filter(worst__gt=F("used"))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for start in range(0, len(gapped), BATCH):
        ids = gapped[start : start + BATCH]
        rows = list(judgements.filter(annotation_id__in=ids))
        ranks: dict[int, dict[int, int]] = {}
        for row in rows:
            ranks.setdefault(row.annotation_id, {})[row.candidate_id] = row.rank
        dense = {annotation: dense_ranks(r) for annotation, r in ranks.items()}
        for row in rows:
            row.rank = dense[row.annotation_id][row.candidate_id]
        judgements.bulk_update(rows, ["rank"], batch_size=BATCH)
        pairs = list(comparisons.filter(annotation_id__in=ids))
        for pair in pairs:
            order = dense[pair.annotation_id]
            pair.rank_gap = order[pair.rejected_id] - order[pair.chosen_id]
        comparisons.bulk_update(pairs, ["rank_gap"], batch_size=BATCH)


class Migration(migrations.Migration):
    dependencies = [
        ("annotate", "0004_rendered_html_and_text_limits"),
    ]

    # Reversing keeps the compact ranks: the gaps carried no judgement to restore.
    operations = [
        migrations.RunPython(compact_rank_gaps, migrations.RunPython.noop),
    ]
