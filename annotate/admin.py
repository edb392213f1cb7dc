"""Admin for project leads: projects, prompts, outputs, assignments, annotations."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from annotate import services
from annotate.importing import FORMATS
from annotate.models import (
    Annotation,
    Assignment,
    Candidate,
    Comparison,
    Judgement,
    Membership,
    Project,
    Prompt,
)


class ImportForm(forms.Form):
    file = forms.FileField(help_text="JSONL, CSV or Parquet.")
    format = forms.ChoiceField(
        choices=[(name, name) for name in FORMATS],
        initial="auto",
        help_text="'auto' tells the shape from the first record's fields.",
    )


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "slug",
        "min_k",
        "max_k",
        "annotations_per_prompt",
        "figures",
    ]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name", "slug"]
    inlines = [MembershipInline]

    @admin.display(description="Figures")
    def figures(self, project: Project) -> str:
        return format_html(
            '<a href="{}">counts</a>', reverse("annotate:project", args=[project.slug])
        )

    def get_urls(self) -> list[URLPattern]:
        upload = path(
            "<int:project_id>/import/",
            self.admin_site.admin_view(self.import_data),
            name="annotate_project_import",
        )
        return [upload, *super().get_urls()]

    def import_data(self, request: HttpRequest, project_id: int) -> HttpResponse:
        """Upload a file: show the counts, or every bad row with nothing written."""
        # Imported here, not at start-up: the import service loads torch.
        from annotate.importing.service import ImportRejected, import_upload

        project = get_object_or_404(Project, pk=project_id)
        if not self.has_change_permission(request, project):
            raise PermissionDenied
        form = ImportForm(request.POST or None, request.FILES or None)
        errors: list[str] = []
        if request.method == "POST" and form.is_valid():
            try:
                report = import_upload(
                    upload=form.cleaned_data["file"],
                    project=project,
                    format=form.cleaned_data["format"],
                )
            except ImportRejected as err:
                errors = [str(error) for error in err.errors]
            else:
                messages.success(request, "Imported: " + "; ".join(report.lines()))
                change_page = reverse(
                    "admin:annotate_project_change", args=[project.pk]
                )
                return HttpResponseRedirect(change_page)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": project,
            "title": f"Import data into {project}",
            "form": form,
            "errors": errors,
        }
        return TemplateResponse(
            request, "admin/annotate/project/import_data.html", context
        )


class CandidateInline(admin.StackedInline):
    model = Candidate
    extra = 0
    fields = ["text", "source", "generation_settings"]


@admin.register(Prompt)
class PromptAdmin(admin.ModelAdmin):
    list_display = ["__str__", "project", "n_candidates", "created_at"]
    list_filter = ["project"]
    search_fields = ["text"]
    readonly_fields = ["content_hash"]
    inlines = [CandidateInline]

    @admin.display(description="Outputs")
    def n_candidates(self, prompt: Prompt) -> int:
        return prompt.candidates.count()


@admin.register(Candidate)
class CandidateAdmin(admin.ModelAdmin):
    list_display = ["__str__", "source", "prompt"]
    list_filter = ["source", "prompt__project"]
    search_fields = ["text", "source"]
    readonly_fields = ["content_hash"]
    raw_id_fields = ["prompt"]


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "annotator",
        "prompt",
        "status",
        "created_at",
        "time_spent_ms",
    ]
    list_filter = ["status", "prompt__project", "annotator"]
    raw_id_fields = ["prompt"]
    readonly_fields = ["display_order", "created_at", "completed_at", "time_spent_ms"]


class JudgementInline(admin.TabularInline):
    model = Judgement
    extra = 0
    can_delete = False
    fields = readonly_fields = ("candidate", "rank", "likert", "flags")

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


class ComparisonInline(admin.TabularInline):
    model = Comparison
    extra = 0
    can_delete = False
    fields = readonly_fields = (
        "chosen",
        "rejected",
        "is_tie",
        "weight",
        "rank_gap",
        "likert_gap",
    )

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Annotation)
class AnnotationAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "annotator",
        "prompt",
        "skipped",
        "n_comparisons",
        "created_at",
    ]
    list_filter = ["skipped", "source", "assignment__prompt__project"]
    search_fields = ["notes", "skip_reason"]
    readonly_fields = [
        "assignment",
        "client_id",
        "skipped",
        "skip_reason",
        "source",
        "import_source",
        "created_at",
    ]
    inlines = [JudgementInline, ComparisonInline]
    actions = ["expand_again"]

    def get_queryset(self, request):  # type: ignore[no-untyped-def]
        return (
            super()
            .get_queryset(request)
            .select_related("assignment__annotator", "assignment__prompt")
        )

    @admin.display(description="Annotator")
    def annotator(self, annotation: Annotation) -> str:
        return str(annotation.assignment.annotator or "(imported)")

    @admin.display(description="Prompt")
    def prompt(self, annotation: Annotation) -> str:
        return str(annotation.assignment.prompt)

    @admin.display(description="Comparisons")
    def n_comparisons(self, annotation: Annotation) -> int:
        return annotation.comparisons.count()

    @admin.action(description="Re-expand the rankings into comparisons")
    def expand_again(self, request, queryset):  # type: ignore[no-untyped-def]
        for annotation in queryset.filter(skipped=False):
            services.ranking_expand(annotation=annotation)
        self.message_user(request, f"Re-expanded {queryset.count()} annotation(s).")
