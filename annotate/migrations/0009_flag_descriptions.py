# Each flag of a project's checklist gets a one-line description (issue 12).

from django.db import migrations, models

import annotate.models


def describe_flags(apps, schema_editor):
    """Give every stored flag a description: the default one for a default key."""
    known = {flag["key"]: flag["description"] for flag in annotate.models.DEFAULT_FLAGS}
    Project = apps.get_model("annotate", "Project")
    for project in Project.objects.all():
        for flag in project.flags:
            flag.setdefault("description", known.get(flag["key"], ""))
        project.save(update_fields=["flags"])


class Migration(migrations.Migration):
    dependencies = [
        ("annotate", "0008_assignment_draft"),
    ]

    operations = [
        migrations.AlterField(
            model_name="project",
            name="flags",
            field=models.JSONField(
                default=annotate.models.default_flags,
                help_text='The flag checklist: a list of {"key": ..., "label": ..., "description": ...}. Judgements store the keys.',
            ),
        ),
        migrations.RunPython(describe_flags, migrations.RunPython.noop),
    ]
