"""Admin for project leads: projects, prompts, outputs, assignments, annotations.

Every list holds the rows of the projects the user leads, and every permission is the
one lead rule (annotate.selectors): `is_staff` only opens the admin site, and Django's
per-model permissions are not asked about a project's rows. Creating and deleting
whole projects is site-wide, so that keeps Django's permissions (superusers have them).
"""

from functools import reduce
from typing import Any, cast

from django import forms
from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, ForeignKey, Model, OuterRef, Q, QuerySet
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from annotate import selectors, services
from annotate.exporting import jobs as export_jobs
from annotate.importing import FORMATS
from annotate.importing import jobs as import_jobs
from annotate.importing.outcome import ImportRejected
from annotate.models import (
    Annotation,
    Assignment,
    Candidate,
    Comparison,
    ExportJob,
    GoldRanking,
    ImportJob,
    Judgement,
    Membership,
    Project,
    Prompt,
)
from annotate.quality import selectors as quality

RELATED_ONLY = admin.RelatedOnlyFieldListFilter  # filters list only the rows' choices


def leads_any(request: HttpRequest) -> bool:
    """Whether the user leads some project, asked once per request.

    Every page asks it of every model admin (the index and the sidebar list them all).
    """
    memo = vars(request)
    if "_leads_any" not in memo:
        memo["_leads_any"] = selectors.user_leads_any(user=request.user)
    return memo["_leads_any"]


class LeadRule:
    """Permissions by the lead rule, for a model admin or an inline.

    `project_path` is the lookup from the object Django asks about (the row, or an
    inline's parent row) to its Project; empty when that object is the project.
    """

    project_path = "project"

    def project_of(self, obj: Model) -> Project:
        if not self.project_path:
            assert isinstance(obj, Project)
            return obj
        return cast(Project, reduce(getattr, self.project_path.split("__"), obj))

    def leads(self, request: HttpRequest, obj: Model | None) -> bool:
        """Leads this object's project; with no object, leads some project."""
        if obj is None:
            return leads_any(request)
        return selectors.user_leads(user=request.user, project=self.project_of(obj))

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.leads(request, obj)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.leads(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.leads(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.leads(request, obj)


class LeadRuleAdmin(LeadRule, admin.ModelAdmin):
    """A model admin showing and offering only what belongs to the projects led."""

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        led = selectors.projects_led_by(user=request.user)
        lookup = f"{self.project_path}__in" if self.project_path else "pk__in"
        return super().get_queryset(request).filter(**{lookup: led})

    def has_module_permission(self, request: HttpRequest) -> bool:
        return leads_any(request)

    def formfield_for_foreignkey(
        self, db_field: ForeignKey, request: HttpRequest, **kwargs: Any
    ) -> Any:
        """A row can only be put in (or moved to) a project the user leads."""
        led = selectors.projects_led_by(user=request.user)
        choices = {
            Project: led,
            Prompt: Prompt.objects.filter(project__in=led),
            User: User.objects.filter(membership__project__in=led).distinct(),
        }
        if db_field.related_model in choices:
            kwargs["queryset"] = choices[db_field.related_model]
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


RECENT_IMPORTS = 10  # listed on the upload page
IMPORT_POLL_MILLISECONDS = 1000


class ImportForm(forms.Form):
    file = forms.FileField(help_text="JSONL, JSON, CSV or Parquet.")
    format = forms.ChoiceField(
        choices=[(name, name) for name in FORMATS],
        initial="auto",
        help_text="'auto' tells the shape from the first record's fields.",
    )


FLAG_SEPARATOR = " | "


class FlagListField(forms.Field):
    """A project's flags as lines of `key | label | description`, easy to edit.

    The description may itself hold " | "; Project.clean checks the rest (key
    shape, unique keys, no key that judgements use dropped).
    """

    widget = forms.Textarea(attrs={"rows": 12, "cols": 110, "class": "vLargeTextField"})

    def prepare_value(self, value: Any) -> str:
        if isinstance(value, str):  # the text as posted, shown back with its errors
            return value
        return "\n".join(
            FLAG_SEPARATOR.join(
                [flag["key"], flag["label"], flag.get("description", "")]
            )
            for flag in value or []
        )

    def to_python(self, value: Any) -> list[dict[str, str]]:
        flags, errors = [], []
        lines = [line.strip() for line in str(value or "").splitlines()]
        for n, line in enumerate(lines, 1):
            if not line:
                continue
            parts = [part.strip() for part in line.split("|", 2)]
            if len(parts) < 2:
                errors.append(
                    f"Line {n}: expected key | label | description, got {line!r}."
                )
                continue
            key, label, description = (*parts, "")[:3]
            flags.append({"key": key, "label": label, "description": description})
        if errors:
            raise forms.ValidationError(errors)
        return flags


class ProjectAdminForm(ModelForm):
    """ProjectAdmin's form (the admin adds the model and its other fields)."""

    flags = FlagListField(
        required=False,
        help_text="One flag per line: key | label | description. Annotators see the "
        "label with the description under it; judgements store the key, so a key "
        "in use cannot be removed or renamed, while its label and description can "
        "change at any time.",
    )
    prompt_flags = FlagListField(
        required=False,
        help_text="The checklist asked once per task about the prompt, in the same "
        "lines as the flags; leave it empty to ask nothing. Annotations store the "
        "key, so a key in use cannot be removed or renamed.",
    )


class MembershipInline(LeadRule, admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]
    project_path = ""  # asked about the project being edited


@admin.register(Project)
class ProjectAdmin(LeadRuleAdmin):
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
    form = ProjectAdminForm
    inlines = [MembershipInline]
    project_path = ""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return super().has_module_permission(request) or self.has_add_permission(
            request
        )

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("annotate.add_project")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Deleting a project deletes every judgement in it: not a lead's call alone.
        return request.user.has_perm("annotate.delete_project")

    def save_related(
        self, request: HttpRequest, form: ModelForm, formsets: Any, change: bool
    ) -> None:
        super().save_related(request, form, formsets, change)
        project = form.instance
        if not change and not selectors.user_leads(user=request.user, project=project):
            # Whoever may create a project leads it, or it would vanish from their list.
            user = request.user
            assert isinstance(user, User)
            services.membership_set(
                project=project, user=user, role=Membership.Role.LEAD
            )

    def save_formset(
        self,
        request: HttpRequest,
        form: ModelForm,
        formset: BaseInlineFormSet,
        change: bool,
    ) -> None:
        """Memberships deleted here are removed as the API removes them."""
        if formset.model is not Membership:
            super().save_formset(request, form, formset, change)
            return
        kept = formset.save(commit=False)
        for membership in formset.deleted_objects:
            services.membership_remove(project=membership.project, user=membership.user)
        for membership in kept:
            membership.save()

    @admin.display(description="Figures")
    def figures(self, project: Project) -> str:
        return format_html(
            '<a href="{}">counts</a>', reverse("annotate:project", args=[project.slug])
        )

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        imports = [
            path(
                "<int:project_id>/import/",
                view(self.import_data),
                name="annotate_project_import",
            ),
            path(
                "<int:project_id>/import/<int:job_id>/",
                view(self.import_job),
                name="annotate_project_import_job",
            ),
            path(
                "<int:project_id>/import/<int:job_id>/status/",
                view(self.import_job_status),
                name="annotate_project_import_status",
            ),
        ]
        return [*imports, *super().get_urls()]

    @csrf_exempt  # until the body's size is known to be within the cap: see below
    def import_data(self, request: HttpRequest, project_id: int) -> HttpResponse:
        """Upload a file: its import is queued, and its page shows how it goes.

        An upload over RANKWISE_IMPORT_MAX_BYTES is refused from its Content-Length
        before its body is read (the CSRF check would read it all first); refusing
        writes nothing, so only an accepted upload needs the CSRF check.
        """
        project = self._led_project(request, project_id)
        if request.method == "POST":
            length = request.META.get("CONTENT_LENGTH")
            refusal = import_jobs.upload_refusal(content_length=length)
            if refusal:
                return self._import_page(request, project, ImportForm(), [refusal])
        return csrf_protect(self._import_upload)(request, project)

    def _import_upload(self, request: HttpRequest, project: Project) -> HttpResponse:
        form = ImportForm(request.POST or None, request.FILES or None)
        errors: list[str] = []
        if request.method == "POST" and form.is_valid():
            try:
                job = import_jobs.import_job_create(
                    project=project,
                    upload=form.cleaned_data["file"],
                    format=form.cleaned_data["format"],
                    created_by=cast(User, request.user),
                )
            except ImportRejected as err:
                errors = [str(error) for error in err.errors]
            else:
                page = reverse(
                    "admin:annotate_project_import_job", args=[project.pk, job.pk]
                )
                return HttpResponseRedirect(page)
        return self._import_page(request, project, form, errors)

    def _import_page(
        self,
        request: HttpRequest,
        project: Project,
        form: ImportForm,
        errors: list[str],
    ) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": project,
            "title": f"Import data into {project}",
            "form": form,
            "errors": errors,
            "jobs": project.import_jobs.all()[:RECENT_IMPORTS],
        }
        return TemplateResponse(
            request, "admin/annotate/project/import_data.html", context
        )

    def import_job(
        self, request: HttpRequest, project_id: int, job_id: int
    ) -> TemplateResponse:
        """An import's page: its state and rows done, polled until it ends."""
        project = self._led_project(request, project_id)
        import_jobs.import_jobs_reap_stale()
        job = get_object_or_404(ImportJob, pk=job_id, project=project)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": project,
            "title": f"Import of {job.file_name} into {project}",
            "status": import_jobs.import_job_status(job=job),
            "poll_milliseconds": IMPORT_POLL_MILLISECONDS,
        }
        return TemplateResponse(
            request, "admin/annotate/project/import_job.html", context
        )

    def import_job_status(
        self, request: HttpRequest, project_id: int, job_id: int
    ) -> JsonResponse:
        """The import page's poll."""
        project = self._led_project(request, project_id)
        import_jobs.import_jobs_reap_stale()
        job = get_object_or_404(ImportJob, pk=job_id, project=project)
        return JsonResponse(import_jobs.import_job_status(job=job))

    def _led_project(self, request: HttpRequest, project_id: int) -> Project:
        project = get_object_or_404(Project, pk=project_id)
        if not self.has_change_permission(request, project):
            raise PermissionDenied
        return project


class CandidateInline(LeadRule, admin.StackedInline):
    model = Candidate
    extra = 0
    fields = ["text", "source", "generation_settings"]


@admin.register(Prompt)
class PromptAdmin(LeadRuleAdmin):
    list_display = ["__str__", "project", "n_candidates", "created_at"]
    list_filter = [("project", RELATED_ONLY)]
    search_fields = ["text"]
    readonly_fields = ["content_hash"]
    inlines = [CandidateInline]

    @admin.display(description="Outputs")
    def n_candidates(self, prompt: Prompt) -> int:
        return prompt.candidates.count()


@admin.register(Candidate)
class CandidateAdmin(LeadRuleAdmin):
    list_display = ["__str__", "source", "prompt"]
    list_filter = ["source", ("prompt__project", RELATED_ONLY)]
    project_path = "prompt__project"
    search_fields = ["text", "source"]
    readonly_fields = ["content_hash"]
    raw_id_fields = ["prompt"]


@admin.register(Assignment)
class AssignmentAdmin(LeadRuleAdmin):
    list_display = [
        "id",
        "annotator",
        "prompt",
        "status",
        "created_at",
        "time_spent_ms",
    ]
    list_filter = [
        "status",
        ("prompt__project", RELATED_ONLY),
        ("annotator", RELATED_ONLY),
    ]
    raw_id_fields = ["prompt"]
    project_path = "prompt__project"
    readonly_fields = ["display_order", "created_at", "completed_at", "time_spent_ms"]


class JudgementInline(LeadRule, admin.TabularInline):
    model = Judgement
    extra = 0
    can_delete = False
    fields = readonly_fields = ("candidate", "rank", "likert", "flags", "flags_no")
    project_path = "assignment__prompt__project"  # of the annotation shown

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ComparisonInline(LeadRule, admin.TabularInline):
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
    project_path = "assignment__prompt__project"  # of the annotation shown

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _projects_of(annotations: QuerySet[Annotation]) -> QuerySet[Project]:
    return Project.objects.filter(
        pk__in=annotations.values("assignment__prompt__project")
    )


class TrustBandFilter(admin.SimpleListFilter):
    """The review queue by the annotator's trust (annotate.quality), per project."""

    title = "annotator trust"
    parameter_name = "trust"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        bands = [(key, label) for key, (label, _) in quality.TRUST_BANDS.items()]
        return [*bands, (quality.NO_TRUST, "No figure yet")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        band = self.value()
        if band is None:
            return queryset
        wanted = Q(pk__in=[])
        for project in _projects_of(queryset):
            names = quality.annotators_in_band(project=project, band=band)
            wanted |= Q(
                assignment__prompt__project=project,
                assignment__annotator__username__in=names,
            )
        return queryset.filter(wanted)


class DisagreementFilter(admin.SimpleListFilter):
    """Rankings by their τ with the consensus of the prompt's others, or with gold."""

    title = "agreement with consensus or gold"
    parameter_name = "disagrees"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("yes", "Disagrees (τ ≤ 0)"),
            ("no", "Agrees (τ > 0)"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() not in ("yes", "no"):
            return queryset
        taus: dict[int, float] = {}
        for project in _projects_of(queryset):
            taus.update(quality.assignment_taus(project=project))
        disagree = self.value() == "yes"
        ids = [pk for pk, tau in taus.items() if (tau <= 0) == disagree]
        return queryset.filter(assignment_id__in=ids)


class FlaggedFilter(admin.SimpleListFilter):
    title = "flags"
    parameter_name = "flagged"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Some output flagged"), ("no", "No flags")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        flagged = Exists(
            Judgement.objects.filter(annotation=OuterRef("pk")).exclude(flags=[])
        )
        if self.value() == "yes":
            return queryset.filter(flagged)
        if self.value() == "no":
            return queryset.filter(~flagged)
        return queryset


class RejectForm(forms.Form):
    comment = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        help_text="Why the work is rejected; the annotator reads it on their page.",
    )


@admin.register(Annotation)
class AnnotationAdmin(LeadRuleAdmin):
    """Annotations, and the lead's review queue: filter, then approve or reject."""

    list_display = [
        "id",
        "annotator",
        "prompt",
        "skipped",
        "n_comparisons",
        "review",
        "review_comment",
        "created_at",
    ]
    list_filter = [
        "review",
        TrustBandFilter,
        DisagreementFilter,
        FlaggedFilter,
        "skipped",
        "source",
        ("assignment__prompt__project", RELATED_ONLY),
    ]
    search_fields = ["notes", "skip_reason", "review_comment"]
    readonly_fields = [
        "assignment",
        "client_id",
        "skipped",
        "skip_reason",
        "prompt_flags",
        "prompt_flags_no",
        "source",
        "import_source",
        "review",
        "review_comment",
        "reviewed_by",
        "reviewed_at",
        "created_at",
    ]
    inlines = [JudgementInline, ComparisonInline]
    actions = ["expand_again", "approve", "reject", "mark_gold"]
    project_path = "assignment__prompt__project"

    @admin.action(description="Approve")
    def approve(self, request, queryset):  # type: ignore[no-untyped-def]
        for annotation in queryset:
            services.annotation_review(
                annotation=annotation,
                reviewer=request.user,
                verdict=Annotation.Review.APPROVED,
            )
        self.message_user(request, f"Approved {queryset.count()} annotation(s).")

    @admin.action(description="Reject with a comment")
    def reject(self, request, queryset):  # type: ignore[no-untyped-def]
        """First shows a form for the comment; its post applies the rejection."""
        form = RejectForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            for annotation in queryset:
                services.annotation_review(
                    annotation=annotation,
                    reviewer=request.user,
                    verdict=Annotation.Review.REJECTED,
                    comment=form.cleaned_data["comment"],
                )
            self.message_user(request, f"Rejected {queryset.count()} annotation(s).")
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Reject with a comment",
            "annotations": queryset,
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(
            request, "admin/annotate/annotation/reject.html", context
        )

    @admin.action(description="Use the ranking as its prompt's gold reference")
    def mark_gold(self, request, queryset):  # type: ignore[no-untyped-def]
        done = 0
        for annotation in queryset:
            try:
                services.gold_ranking_from_annotation(
                    annotation=annotation, set_by=request.user
                )
            except services.ReviewError as error:
                self.message_user(request, str(error), level="error")
            else:
                done += 1
        self.message_user(request, f"{done} prompt(s) now have a gold reference.")

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


@admin.register(GoldRanking)
class GoldRankingAdmin(LeadRuleAdmin):
    """Gold references: set here by hand, or from an annotation (its list action)."""

    list_display = ["prompt", "ranks", "from_annotation", "created_by", "created_at"]
    list_filter = [("prompt__project", RELATED_ONLY)]
    raw_id_fields = ["prompt"]
    readonly_fields = ["from_annotation", "created_by", "created_at"]
    project_path = "prompt__project"

    def save_model(
        self, request: HttpRequest, obj: GoldRanking, form: ModelForm, change: bool
    ) -> None:
        obj.created_by = cast(User, request.user)
        super().save_model(request, obj, form, change)


@admin.register(ExportJob)
class ExportJobAdmin(LeadRuleAdmin):
    """Export jobs, to watch or delete (the file goes with its job); the export page
    (/p/<slug>/export/) starts them."""

    list_display = [
        "id",
        "project",
        "format",
        "file_type",
        "state",
        "rows",
        "requested_by",
        "created_at",
        "finished_at",
    ]
    list_filter = ["state", ("project", RELATED_ONLY)]
    readonly_fields = [
        field.name for field in ExportJob._meta.fields if field.name != "id"
    ]

    @admin.display(description="Format")
    def format(self, job: ExportJob) -> str:
        return str(job.options.get("format", ""))

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        export_jobs.export_jobs_reap_stale()
        return super().get_queryset(request)

    def delete_model(self, request: HttpRequest, obj: ExportJob) -> None:
        export_jobs.export_job_delete(job=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for job in queryset:
            export_jobs.export_job_delete(job=job)
