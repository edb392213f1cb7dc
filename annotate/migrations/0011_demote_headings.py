"""Re-render stored output and instructions HTML: headings now start at h4."""

from importlib import import_module

from django.db import migrations

# 0004's batched re-render, which calls the app's current renderer: the stored HTML
# is what annotate.rendering makes now.
render_stored_texts = import_module(
    "annotate.migrations.0004_rendered_html_and_text_limits"
).render_stored_texts


class Migration(migrations.Migration):
    dependencies = [
        ("annotate", "0010_export_jobs_and_caps"),
    ]

    operations = [
        migrations.RunPython(render_stored_texts, migrations.RunPython.noop),
    ]
