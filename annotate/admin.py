"""Admin for project leads: projects, prompts, outputs, assignments, annotations."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from annotate import services
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
        return str(annotation.assignment.annotator)

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
