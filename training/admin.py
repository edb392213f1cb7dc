"""Admin for project leads: launch rounds, watch them live, compare and promote models.

The views are thin: they check that the user leads the project, call a service or a
selector, and render. Lists and permissions follow annotate's lead rule (LeadRuleAdmin):
a lead sees the rows of the projects they lead; `is_staff` only opens the admin.
`training.services`, the form and the plots load torch or matplotlib, so they are
imported on first use, not when Django starts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.cache import add_never_cache_headers
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from annotate.admin import RELATED_ONLY, LeadRuleAdmin
from annotate.models import Project, Prompt
from training import selectors
from training.models import (
    CandidateOrigin,
    DataSnapshot,
    EvaluationSet,
    ModelVersion,
    Promotion,
    Round,
    TrainingRun,
)
from training.rounds import IllegalTransition

if TYPE_CHECKING:
    from training.forms import RoundLaunchForm

STATUS_POLL_MILLISECONDS = 2000
PLOT_DESCRIPTIONS = {
    "judge_score": "Judge score of each policy of the lineage, by round",
    "win_rate": "Win rate of each policy against the base and its parent, by round",
    "kl": "KL of each policy to the base and to its parent, by round",
    "reward_kl": "Judge score vs KL to the base, and this round's RL steps",
    "reward_length": "Judge score vs output length of the new policy's samples",
    "distinct": "Output diversity (distinct-1, distinct-2) of each policy",
    "reward_accuracy": "Reward-model held-out accuracy per round",
    "loss": "Training loss per step of each job",
}
COMPARE_PLOTS = ("judge_score", "win_rate", "kl")  # curves over the lineage


class ReadOnlyAdmin(LeadRuleAdmin):
    """Records written by the round services only; leads of their project see them."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def led_round(request: HttpRequest, round_id: int) -> Round:
    """The round, if the user leads its project (else 404 or 403)."""
    round_ = get_object_or_404(Round.objects.select_related("project"), pk=round_id)
    if not selectors.user_leads(user=request.user, project=round_.project):
        raise PermissionDenied
    return round_


@admin.register(Round)
class RoundAdmin(ReadOnlyAdmin):
    list_display = [
        "number",
        "project",
        "algorithm",
        "state",
        "current_run",
        "created_at",
        "live_link",
    ]
    list_filter = ["state", "algorithm", ("project", RELATED_ONLY)]
    readonly_fields = ["generated"]
    exclude = ["evaluation"]  # the live page plots it

    def get_queryset(self, request: HttpRequest) -> QuerySet[Round]:
        queryset = super().get_queryset(request).select_related("project")
        return queryset.prefetch_related("runs")

    @admin.display(description="Current job")
    def current_run(self, round_: Round) -> str:
        runs = list(round_.runs.all())  # prefetched: no query per row
        if not runs:
            return "—"
        run = max(runs, key=lambda r: (r.is_active, r.pk))
        return format_html(
            '{} <progress max="100" value="{}"></progress> {}%',
            run.get_kind_display(),
            round(100 * run.progress),
            round(100 * run.progress),
        )

    @admin.display(description="Live page")
    def live_link(self, round_: Round) -> str:
        url = reverse("admin:training_round_live", args=[round_.pk])
        return format_html('<a href="{}">watch round {}</a>', url, round_.number)

    @admin.display(description="Generated candidates")
    def generated(self, round_: Round) -> str:
        url = reverse("admin:training_candidateorigin_changelist")
        count = round_.generated_candidates.count()
        return format_html(
            '<a href="{}?round__id__exact={}">{}</a>', url, round_.pk, count
        )

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        own = [
            path("launch/", view(self.launch_view), name="training_round_launch"),
            path(
                "<int:round_id>/live/", view(self.live_view), name="training_round_live"
            ),
            path(
                "<int:round_id>/status/",
                view(self.status_view),
                name="training_round_status",
            ),
            path(
                "<int:round_id>/plots/<str:name>.png",
                view(self.plot_view),
                name="training_round_plot",
            ),
            path(
                "<int:round_id>/cancel/",
                view(require_POST(self.cancel_view)),
                name="training_round_cancel",
            ),
            path(
                "<int:round_id>/relaunch/",
                view(require_POST(self.relaunch_view)),
                name="training_round_relaunch",
            ),
        ]
        return [*own, *super().get_urls()]

    def launch_view(self, request: HttpRequest) -> HttpResponse:
        """The launch form; on success the round's live page."""
        from training import services
        from training.forms import RoundLaunchForm

        projects = selectors.projects_led_by(user=request.user)
        chosen = request.POST.get("project") or request.GET.get("project") or ""
        if chosen.isdigit():
            project = projects.filter(pk=int(chosen)).first()
        else:
            project = projects.first()
        if project is None:
            raise PermissionDenied(
                f"You do not lead project {chosen}."
                if chosen
                else "You lead no project."
            )
        # Held out before the form lists the prompts left for generation.
        services.evaluation_set_for(project=project)
        data = request.POST if request.method == "POST" else None
        form = RoundLaunchForm(data, projects=projects, project=project)
        if form.is_valid():
            try:
                round_ = services.round_launch(
                    project=project,
                    request=form.launch_request(),
                    launched_by=request.user,  # type: ignore[arg-type]
                )
            except services.LaunchRefused as refused:
                form.add_refusal(refused.reasons)
            else:
                messages.success(request, f"Round {round_.number} launched.")
                live = reverse("admin:training_round_live", args=[round_.pk])
                return HttpResponseRedirect(live)
        # A refused POST already lists the reasons with the form's errors.
        blockers = {} if form.is_bound else services.launch_blockers(project)
        return self._launch_page(request, form, blockers)

    def _launch_page(
        self, request: HttpRequest, form: RoundLaunchForm, blockers: dict[str, str]
    ) -> TemplateResponse:
        held_out = EvaluationSet.objects.filter(project=form.launch_project).first()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Launch a round of {form.launch_project}",
            "form": form,
            "blockers": blockers.values(),
            "evaluation_set": held_out,
        }
        return TemplateResponse(request, "admin/training/round/launch.html", context)

    def live_view(self, request: HttpRequest, round_id: int) -> TemplateResponse:
        round_ = led_round(request, round_id)
        status = selectors.round_status(round_=round_)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"{round_.project}: round {round_.number}",
            "original": round_,
            "status": status,
            "plots": [
                {"name": name, "alt": alt, "version": status["plot_versions"][name]}
                for name, alt in PLOT_DESCRIPTIONS.items()
            ],
            "poll_milliseconds": STATUS_POLL_MILLISECONDS,
        }
        return TemplateResponse(request, "admin/training/round/live.html", context)

    def status_view(self, request: HttpRequest, round_id: int) -> JsonResponse:
        """The live page's poll: reaps dead workers' runs first, then reports."""
        from training import services

        round_ = led_round(request, round_id)
        services.runs_reap_stale()
        response = JsonResponse(selectors.round_status(round_=round_))
        add_never_cache_headers(response)
        return response

    def plot_view(self, request: HttpRequest, round_id: int, name: str) -> HttpResponse:
        from training.round_plots import PLOTS, round_plot_png

        round_ = led_round(request, round_id)
        if name not in PLOTS:
            raise Http404(f"No plot {name!r}; plots are {', '.join(PLOTS)}.")
        response = HttpResponse(round_plot_png(round_, name), content_type="image/png")
        add_never_cache_headers(response)
        return response

    def cancel_view(self, request: HttpRequest, round_id: int) -> HttpResponse:
        from training import services

        def cancel(round_: Round) -> str:
            round_ = services.round_cancel(round_=round_)
            if round_.state == Round.State.CANCELLED:
                return f"Round {round_.number} cancelled."
            return f"Round {round_.number} stops at its job's next step."

        return self._change_round(request, round_id, cancel)

    def relaunch_view(self, request: HttpRequest, round_id: int) -> HttpResponse:
        from training import services

        def relaunch(round_: Round) -> str:
            round_ = services.round_relaunch(round_=round_)
            return f"Round {round_.number} resumes at {round_.get_state_display()}."

        return self._change_round(request, round_id, relaunch)

    def _change_round(
        self, request: HttpRequest, round_id: int, change: Callable[[Round], str]
    ) -> HttpResponse:
        """Apply a state change; say what happened, or why it was not allowed."""
        round_ = led_round(request, round_id)
        try:
            messages.success(request, change(round_))
        except IllegalTransition as err:
            messages.error(request, str(err))
        live = reverse("admin:training_round_live", args=[round_id])
        return HttpResponseRedirect(live)


@admin.register(TrainingRun)
class TrainingRunAdmin(ReadOnlyAdmin):
    list_display = [
        "__str__",
        "round",
        "status",
        "progress_percent",
        "worker",
        "started_at",
        "finished_at",
    ]
    list_filter = ["status", "kind", ("round__project", RELATED_ONLY)]
    project_path = "round__project"

    def get_queryset(self, request: HttpRequest) -> QuerySet[TrainingRun]:
        return super().get_queryset(request).select_related("round__project")

    @admin.display(description="Progress")
    def progress_percent(self, run: TrainingRun) -> str:
        return f"{run.progress:.0%}"


@admin.register(DataSnapshot)
class DataSnapshotAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "project", "path", "created_at"]
    list_filter = [("project", RELATED_ONLY)]


class EvaluationSetForm(forms.ModelForm):
    """A lead's choice of held-out prompts (only prompts without outputs qualify)."""

    prompts = forms.ModelMultipleChoiceField(
        queryset=Prompt.objects.none(),
        widget=FilteredSelectMultiple("prompts", is_stacked=False),
        help_text=(
            "Prompts without outputs. They are never generated for, so never "
            "annotated nor trained on; every round's judge scores each policy on them."
        ),
    )
    projects: QuerySet[Project] = Project.objects.none()  # set per request

    class Meta:
        model = EvaluationSet
        fields = ["project"]

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        current = self.instance.prompt_ids if self.instance.pk else []
        self.fields["project"].queryset = self.projects  # type: ignore[attr-defined]
        prompts = self.fields["prompts"]
        prompts.queryset = (  # type: ignore[attr-defined]
            Prompt.objects.filter(
                Q(project__in=self.projects, candidates__isnull=True)
                | Q(id__in=current)
            )
            .distinct()
            .order_by("project", "id")
        )
        prompts.label_from_instance = lambda p: f"#{p.pk}: {p}"  # type: ignore[attr-defined]
        prompts.initial = current

    def clean(self) -> dict[str, Any]:
        from training import services

        cleaned = super().clean() or {}
        project, chosen = cleaned.get("project"), cleaned.get("prompts")
        if project is not None and chosen is not None:
            problem = services.evaluation_prompts_problem(
                project=project, prompt_ids=[p.pk for p in chosen]
            )
            if problem:
                self.add_error("prompts", problem)
        return cleaned


@admin.register(EvaluationSet)
class EvaluationSetAdmin(LeadRuleAdmin):
    """Leads see the held-out prompts of their projects and may choose others."""

    form = EvaluationSetForm
    list_display = ["project", "prompt_count", "chosen", "frozen_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[EvaluationSet]:
        return super().get_queryset(request).select_related("project", "chosen_by")

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        projects = selectors.projects_led_by(user=request.user)
        return type(form.__name__, (form,), {"projects": projects})

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # rounds keep being compared on a set; replace it instead

    def save_model(
        self, request: HttpRequest, obj: EvaluationSet, form: Any, change: bool
    ) -> None:
        from training import services

        chosen = services.evaluation_set_choose(
            project=form.cleaned_data["project"],
            prompt_ids=[p.pk for p in form.cleaned_data["prompts"]],
            chosen_by=request.user,  # type: ignore[arg-type]
        )
        obj.pk, obj.prompt_ids = chosen.pk, chosen.prompt_ids

    @admin.display(description="Prompts")
    def prompt_count(self, held_out: EvaluationSet) -> int:
        return len(held_out.prompt_ids)

    @admin.display(description="Chosen by")
    def chosen(self, held_out: EvaluationSet) -> str:
        chooser = held_out.chosen_by
        return chooser.username if chooser else "frozen automatically"


@admin.register(Promotion)
class PromotionAdmin(ReadOnlyAdmin):
    list_display = ["model_version", "project", "promoted_by", "reason", "created_at"]
    list_filter = [("project", RELATED_ONLY)]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Promotion]:
        return super().get_queryset(request).select_related("model_version")


@admin.register(CandidateOrigin)
class CandidateOriginAdmin(ReadOnlyAdmin):
    list_display = ["candidate", "round", "model_version"]
    list_filter = [("round", RELATED_ONLY)]
    project_path = "round__project"

    def get_queryset(self, request: HttpRequest) -> QuerySet[CandidateOrigin]:
        return (
            super()
            .get_queryset(request)
            .select_related("candidate", "round__project", "model_version")
        )


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdmin):
    list_display = [
        "name",
        "kind",
        "project",
        "round_number",
        "trained_from",
        "metrics_summary",
    ]
    list_filter = ["kind", ("project", RELATED_ONLY)]
    actions = ["compare_two", "promote_one"]
    change_list_template = "admin/training/modelversion/change_list.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[ModelVersion]:
        return (
            super().get_queryset(request).select_related("project", "round", "parent")
        )

    @admin.display(description="Round", ordering="round__number")
    def round_number(self, version: ModelVersion) -> str:
        return f"round {version.round.number}" if version.round else "base"

    @admin.display(description="Trained from")
    def trained_from(self, version: ModelVersion) -> str:
        return version.parent.name if version.parent else "—"

    @admin.display(description="Key metrics")
    def metrics_summary(self, version: ModelVersion) -> str:
        return selectors.key_metrics(version)

    @admin.action(description="Compare the two selected versions side by side")
    def compare_two(
        self, request: HttpRequest, queryset: QuerySet[ModelVersion]
    ) -> HttpResponse | None:
        ids = sorted(queryset.values_list("pk", flat=True))
        if len(ids) != 2:
            messages.error(
                request, f"Select exactly two versions; {len(ids)} selected."
            )
            return None
        url = reverse("admin:training_modelversion_compare")
        return HttpResponseRedirect(f"{url}?left={ids[0]}&right={ids[1]}")

    @admin.action(description="Promote the selected policy to the next round's start")
    def promote_one(
        self, request: HttpRequest, queryset: QuerySet[ModelVersion]
    ) -> TemplateResponse | None:
        if queryset.count() != 1:
            messages.error(request, f"Select one policy; {queryset.count()} selected.")
            return None
        version = queryset.get()
        if not selectors.user_leads(user=request.user, project=version.project):
            raise PermissionDenied
        back = reverse("admin:training_modelversion_changelist")
        return self._confirm_promotion(request, version, back)

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        own = [
            path(
                "compare/",
                view(self.compare_view),
                name="training_modelversion_compare",
            ),
            path(
                "compare/plots/<str:name>.png",
                view(self.compare_plot_view),
                name="training_modelversion_compare_plot",
            ),
            path(
                "<int:version_id>/promote/",
                view(require_POST(self.promote_view)),
                name="training_modelversion_promote",
            ),
            path(
                "rollback/<int:project_id>/",
                view(require_POST(self.rollback_view)),
                name="training_modelversion_rollback",
            ),
        ]
        return [*own, *super().get_urls()]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        from training import services

        projects = selectors.projects_led_by(user=request.user)
        current = [(p, services.current_policy(p)) for p in projects]
        return super().changelist_view(
            request, {**(extra_context or {}), "current_policies": current}
        )

    def compare_view(self, request: HttpRequest) -> TemplateResponse:
        from training import services

        versions = [
            self._led_version(request, request.GET.get(side, ""))
            for side in ("left", "right")
        ]
        current = {services.current_policy(v.project) for v in versions}
        judged_in = selectors.evaluation_comparing(left=versions[0], right=versions[1])
        query = request.GET.urlencode()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Compare model versions",
            "versions": versions,
            "current": current,
            "rows": selectors.model_versions_compare(
                left=versions[0], right=versions[1]
            ),
            "judged_in": judged_in,
            "plots": [
                {
                    "url": reverse("admin:training_modelversion_compare_plot", args=[n])
                    + f"?{query}",
                    "alt": PLOT_DESCRIPTIONS[n],
                }
                for n in COMPARE_PLOTS
            ]
            if judged_in
            else [],
        }
        return TemplateResponse(
            request, "admin/training/modelversion/compare.html", context
        )

    def compare_plot_view(self, request: HttpRequest, name: str) -> HttpResponse:
        """A lineage curve of the evaluation that judged both versions, them ringed."""
        from training.round_plots import compare_plot_png

        if name not in COMPARE_PLOTS:
            raise Http404(f"No plot {name!r}; plots are {', '.join(COMPARE_PLOTS)}.")
        versions = [
            self._led_version(request, request.GET.get(side, ""))
            for side in ("left", "right")
        ]
        judged_in = selectors.evaluation_comparing(left=versions[0], right=versions[1])
        png = compare_plot_png(judged_in, name, versions)
        response = HttpResponse(png, content_type="image/png")
        add_never_cache_headers(response)
        return response

    def promote_view(self, request: HttpRequest, version_id: int) -> HttpResponse:
        version = self._led_version(request, str(version_id))
        back = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(
            back, allowed_hosts={request.get_host()}
        ):
            back = reverse("admin:training_modelversion_changelist")
        if request.POST.get("confirmed") != "yes":
            return self._confirm_promotion(request, version, back)
        self._promote(request, version)
        return HttpResponseRedirect(back)

    def rollback_view(self, request: HttpRequest, project_id: int) -> HttpResponse:
        from training import services

        project = get_object_or_404(Project, pk=project_id)
        if not selectors.user_leads(user=request.user, project=project):
            raise PermissionDenied
        back = reverse("admin:training_modelversion_changelist")
        current = services.current_policy(project)
        # With nothing to roll back to, the service's refusal says so; no question.
        if request.POST.get("confirmed") != "yes" and current and current.parent:
            return self._confirm(
                request,
                title=f"Roll back {project}?",
                detail=f"The next round of {project} will start from "
                f"{current.parent.name} instead of {current.name}.",
                button=f"Yes, roll back to {current.parent.name}",
                back=back,
            )
        try:
            promotion = services.model_version_rollback(
                project=project,
                promoted_by=request.user,  # type: ignore[arg-type]
            )
        except ValueError as err:
            messages.error(request, str(err))
        else:
            messages.success(
                request,
                f"{project}: the next round starts from "
                f"{promotion.model_version.name}.",
            )
        return HttpResponseRedirect(back)

    def _confirm_promotion(
        self, request: HttpRequest, version: ModelVersion, back: str
    ) -> TemplateResponse:
        from training import services

        current = services.current_policy(version.project)
        instead = f" instead of {current.name}" if current else ""
        return self._confirm(
            request,
            title=f"Promote {version.name}?",
            detail=f"The next round of {version.project} will start from "
            f"{version.name}{instead}.",
            button=f"Yes, promote {version.name}",
            back=back,
            action=reverse("admin:training_modelversion_promote", args=[version.pk]),
        )

    def _confirm(
        self,
        request: HttpRequest,
        *,
        title: str,
        detail: str,
        button: str,
        back: str,
        action: str = "",
    ) -> TemplateResponse:
        """Promote and roll back change what the next round trains; one click asks."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "detail": detail,
            "button": button,
            "back": back,
            "action": action or request.path,
        }
        return TemplateResponse(
            request, "admin/training/modelversion/confirm.html", context
        )

    def _led_version(self, request: HttpRequest, version_id: str) -> ModelVersion:
        if not version_id.isdigit():
            raise Http404("Give two model version ids as ?left=…&right=….")
        version = get_object_or_404(
            ModelVersion.objects.select_related(
                "project", "parent", "round", "snapshot"
            ),
            pk=int(version_id),
        )
        if not selectors.user_leads(user=request.user, project=version.project):
            raise PermissionDenied
        return version

    def _promote(self, request: HttpRequest, version: ModelVersion) -> None:
        from training import services

        if not selectors.user_leads(user=request.user, project=version.project):
            raise PermissionDenied
        try:
            services.model_version_promote(
                version=version,
                promoted_by=request.user,  # type: ignore[arg-type]
                reason="promoted in the admin",
            )
        except ValueError as err:
            messages.error(request, str(err))
        else:
            messages.success(
                request,
                f"{version.project}: the next round starts from {version.name}.",
            )
