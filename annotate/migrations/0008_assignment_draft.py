# The task page's server-side draft (issue 12).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("annotate", "0007_gold_tasks_and_review"),
    ]

    operations = [
        migrations.AddField(
            model_name="assignment",
            name="draft",
            field=models.JSONField(
                blank=True,
                editable=False,
                help_text="The task page's work in progress (ranking, ratings, flags, notes), saved as the annotator works; never an annotation. Cleared on submit or skip.",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="assignment",
            name="draft_revision",
            field=models.PositiveIntegerField(
                default=0,
                editable=False,
                help_text="Counts draft saves, so a page that missed a newer save cannot overwrite it.",
            ),
        ),
    ]
