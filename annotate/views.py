"""Pages of the labeling app. Thin: they parse, call a service or selector, render."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from rest_framework import serializers as drf_serializers

from annotate import exporting, limits, selectors, services
from annotate.bodies import (
    BodyError,
    body_too_large_message,
    field_errors,
    json_body_load,
)
from annotate.exporting import jobs as export_jobs
from annotate.exporting.forms import ExportForm
from annotate.models import (
    K_MAX,
    Annotation,
    Assignment,
    Candidate,
    ExportJob,
    Project,
    Prompt,
)
from annotate.quality.plots import PLOTS, quality_plot_png
from annotate.quality.selectors import own_work, quality_report_compute, trust_band
from annotate.rendering import render_markdown, render_prompt
from annotate.serializers import (
    CandidateKeyedField,
    FlagAnswersSerializer,
    SkipSerializer,
    StoredTextField,
    SubmissionSerializer,
)

RECENT_EXPORTS = 10  # export jobs listed under the form
EXPORT_POLL_MILLISECONDS = 1000

# Offered on the skip page; the annotator may write any other reason.
SKIP_REASONS = (
    "The task page does not load",
    "I can't judge this topic",
    "The prompt is unclear or broken",
    "The outputs are unreadable",
)


def _user(request: HttpRequest) -> User:
    """The logged-in user; every view here is behind login_required."""
    assert isinstance(request.user, User)
    return request.user


def _member_project(request: HttpRequest, slug: str) -> Project:
    project = get_object_or_404(Project, slug=slug)
    if not selectors.user_is_member(user=_user(request), project=project):
        raise PermissionDenied("You are not a member of this project.")
    return project


def _output_html(candidate: Candidate) -> str:
    """The output's stored HTML; rendered here for rows bulk-created without it."""
    return candidate.html or render_markdown(candidate.text)


def _prompt_html(prompt: Prompt) -> str:
    """The prompt's stored HTML; rendered here for rows bulk-created without it."""
    return prompt.html or render_prompt(prompt.text, prompt.messages)


def _open_tasks(user: User) -> dict[int, int]:
    """Project id → the user's open assignment there, the one `label_next` serves."""
    mine = Assignment.objects.filter(annotator=user, status=Assignment.Status.OPEN)
    # Newest first, so the dict keeps each project's oldest, as assignment_next does.
    return dict(mine.order_by("-id").values_list("prompt__project_id", "id"))


@login_required
def home(request: HttpRequest) -> HttpResponse:
    projects = selectors.project_list_for_user(user=_user(request))
    open_tasks = _open_tasks(_user(request))
    rows = [
        {
            "project": project,
            "progress": selectors.annotator_progress(
                project=project, annotator=_user(request)
            ),
            "is_lead": selectors.user_leads(user=_user(request), project=project),
            "open_task": open_tasks.get(project.pk),
        }
        for project in projects
    ]
    return render(request, "annotate/home.html", {"rows": rows})


@login_required
def label_next(request: HttpRequest, slug: str) -> HttpResponse:
    project = _member_project(request, slug)
    assignment = services.assignment_next(project=project, annotator=_user(request))
    if assignment is None:
        progress = selectors.annotator_progress(
            project=project, annotator=_user(request)
        )
        return render(
            request,
            "annotate/queue_empty.html",
            {"project": project, "progress": progress},
        )
    return redirect("annotate:task", slug=slug, assignment_id=assignment.pk)


@login_required
def my_work(request: HttpRequest, slug: str) -> HttpResponse:
    """The annotator's own quality figures and the comments on rejected work."""
    project = _member_project(request, slug)
    work = own_work(project=project, annotator=_user(request))
    context = {"project": project, "work": work}
    return render(request, "annotate/my_work.html", context)


# no-store: Back or a second tab must not show a finished task as editable from cache.
@never_cache
@login_required
def task(request: HttpRequest, slug: str, assignment_id: int) -> HttpResponse:
    project = _member_project(request, slug)
    assignment = _own_assignment(request, project, assignment_id)
    if assignment.status != Assignment.Status.OPEN:
        return _finished(request, project, assignment)
    candidates = {c.pk: c for c in assignment.prompt.candidates.all()}
    if set(assignment.display_order) - set(candidates):
        # An output was deleted since the task was handed out: it cannot be ranked.
        return _render_skip_page(request, project, assignment, broken=True)
    outputs = [
        {
            "id": cid,
            "letter": chr(ord("A") + i),
            "html": _output_html(candidates[cid]),
        }
        for i, cid in enumerate(assignment.display_order)
    ]
    context = {
        "project": project,
        "assignment": assignment,
        "prompt": assignment.prompt,
        "prompt_html": _prompt_html(assignment.prompt),
        "outputs": outputs,
        "ranks": range(1, len(outputs) + 1),
        "likert": list(enumerate(project.likert_labels, start=1)),
        "instructions_html": project.instructions_html,
        "progress": selectors.annotator_progress(
            project=project, annotator=_user(request)
        ),
        "task_config": {
            "submitUrl": reverse("annotate:submit", args=[slug, assignment.pk]),
            "skipUrl": reverse("annotate:skip", args=[slug, assignment.pk]),
            "nextUrl": reverse("annotate:label", args=[slug]),
            "allowTies": project.allow_ties,
            "yesNo": project.asks_yes_no,
            "k": len(outputs),
            "draftUrl": reverse("annotate:draft", args=[slug, assignment.pk]),
            "draft": assignment.draft,
            "draftRevision": assignment.draft_revision,
        },
    }
    return render(request, "annotate/task.html", context)


def _own_assignment(
    request: HttpRequest, project: Project, assignment_id: int
) -> Assignment:
    return get_object_or_404(
        Assignment.objects.select_related("prompt"),
        pk=assignment_id,
        annotator=_user(request),
        prompt__project=project,
    )


def _finished(
    request: HttpRequest, project: Project, assignment: Assignment
) -> HttpResponse:
    return render(
        request,
        "annotate/task_finished.html",
        {"project": project, "assignment": assignment},
    )


# no-store: a stored skip must not come back from cache as a form to send again.
@never_cache
@login_required
def skip_page(request: HttpRequest, slug: str, assignment_id: int) -> HttpResponse:
    """GET: a form to skip the task, showing none of it. POST: skip, go on."""
    # Linked from the home page: the way out when the task page itself fails.
    project = _member_project(request, slug)
    assignment = _own_assignment(request, project, assignment_id)
    if assignment.status != Assignment.Status.OPEN:
        return _finished(request, project, assignment)
    errors: dict[str, str] = {}
    if request.method == "POST":
        serializer = SkipSerializer(data=request.POST)
        try:
            serializer.is_valid(raise_exception=True)
            services.assignment_skip(
                assignment_id=assignment.pk,
                annotator=_user(request),
                **serializer.validated_data,
            )
        except drf_serializers.ValidationError as error:
            errors = field_errors(error.detail)
        except services.SubmissionError as error:
            errors = error.errors
        else:
            return redirect("annotate:label", slug=slug)
    return _render_skip_page(request, project, assignment, errors=errors)


def _render_skip_page(
    request: HttpRequest,
    project: Project,
    assignment: Assignment,
    *,
    broken: bool = False,
    errors: dict[str, str] | None = None,
) -> HttpResponse:
    context = {
        "project": project,
        "assignment": assignment,
        "broken": broken,
        "errors": errors or {},
        "reasons": SKIP_REASONS,
        "reason": request.POST.get("reason", ""),
        # One id per form, so sending it twice stores one skip.
        "client_id": request.POST.get("client_id") or uuid.uuid4(),
    }
    status = 400 if errors else 200
    return render(request, "annotate/task_skip.html", context, status=status)


def _json_body(request: HttpRequest) -> dict:
    """The JSON object sent; BodyError says why not, with the status to answer."""
    if request.content_type != "application/json":
        raise BodyError(
            "Send the body as JSON, with Content-Type: application/json.", status=415
        )
    try:
        raw = request.body
    except RequestDataTooBig as error:
        raise BodyError(body_too_large_message(), status=413) from error
    body = json_body_load(raw or b"{}")
    if not isinstance(body, dict):
        raise BodyError("Expected a JSON object.")
    return body


def _json_call(
    request: HttpRequest,
    slug: str,
    serializer_class: type[drf_serializers.Serializer],
    call: Callable[[drf_serializers.Serializer], JsonResponse],
) -> JsonResponse:
    """Parse and validate a JSON body, run `call` on it, answer its errors as JSON.

    403 when not a member, 400 names each wrong field (or what is wrong with the
    body: 413 too large, 415 not JSON), 409 carries warnings to confirm or, for a
    draft, the newer revision stored.
    """
    try:
        _member_project(request, slug)
        serializer = serializer_class(data=_json_body(request))
        serializer.is_valid(raise_exception=True)
        return call(serializer)
    except PermissionDenied as error:
        # JSON, so the labeling screen can tell it from the CSRF check's HTML 403.
        return JsonResponse({"errors": {"project": str(error)}}, status=403)
    except BodyError as error:
        return JsonResponse({"errors": {"body": str(error)}}, status=error.status)
    except drf_serializers.ValidationError as error:
        return JsonResponse({"errors": field_errors(error.detail)}, status=400)
    except services.SubmissionError as error:
        return JsonResponse({"errors": error.errors}, status=400)
    except services.ConflictWarning as warning:
        return JsonResponse({"warnings": warning.warnings}, status=409)
    except services.DraftConflict as conflict:
        return JsonResponse(
            {"errors": {"revision": str(conflict)}, "revision": conflict.revision},
            status=409,
        )


def _json_write(
    request: HttpRequest,
    slug: str,
    serializer_class: type[drf_serializers.Serializer],
    write: Callable[[drf_serializers.Serializer], tuple[Annotation, bool]],
) -> JsonResponse:
    """Run one write service on the JSON body; 201 when stored, 200 when the same
    client id had already stored it, errors as `_json_call` answers them."""

    def stored(serializer: drf_serializers.Serializer) -> JsonResponse:
        annotation, created = write(serializer)
        return JsonResponse(
            {
                "annotation": annotation.pk,
                "created": created,
                "comparisons": annotation.comparisons.count(),
                "next": reverse("annotate:label", args=[slug]),
            },
            status=201 if created else 200,
        )

    return _json_call(request, slug, serializer_class, stored)


def _login_required_json(
    view: Callable[..., JsonResponse],
) -> Callable[..., HttpResponse]:
    """login_required that answers a JSON fetch with 401 JSON instead of a redirect.

    A fetch follows the redirect to the login page and gets HTML with status 200,
    which the labeling screen could mistake for a stored answer.
    """
    redirecting = login_required(view)

    @wraps(view)
    def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        wants_json = (
            request.content_type == "application/json"
            or request.headers.get("X-Requested-With") == "XMLHttpRequest"
        )
        if wants_json and not request.user.is_authenticated:
            return JsonResponse(
                {"errors": {"session": "Your session has ended; log in again."}},
                status=401,
            )
        return redirecting(request, *args, **kwargs)

    return wrapped


@_login_required_json
@require_POST
def submit(request: HttpRequest, slug: str, assignment_id: int) -> JsonResponse:
    return _json_write(
        request,
        slug,
        SubmissionSerializer,
        lambda serializer: services.annotation_submit(
            assignment_id=assignment_id,
            annotator=_user(request),
            submission=serializer.to_submission(),
        ),
    )


@_login_required_json
@require_POST
def skip(request: HttpRequest, slug: str, assignment_id: int) -> JsonResponse:
    return _json_write(
        request,
        slug,
        SkipSerializer,
        lambda serializer: services.assignment_skip(
            assignment_id=assignment_id,
            annotator=_user(request),
            **serializer.validated_data,
        ),
    )


class DraftSerializer(FlagAnswersSerializer):
    """The task page's work in progress; like a submission, but work may be undone."""

    page = drf_serializers.UUIDField(help_text="Generated by the page when it loads.")
    revision = drf_serializers.IntegerField(
        min_value=0, help_text="The draft revision the page last loaded or saved."
    )
    ranking = drf_serializers.ListField(
        child=drf_serializers.ListField(child=drf_serializers.IntegerField()),
        max_length=K_MAX,
    )
    likert = CandidateKeyedField(child=drf_serializers.IntegerField())
    notes = StoredTextField(
        required=False, allow_blank=True, default="", limit=limits.NOTES
    )

    def to_draft(self) -> services.Draft:
        data = self.validated_data
        return services.Draft(
            buckets=data["ranking"],
            likert=data["likert"],
            notes=data["notes"],
            **self.flag_answers(),
        )


@_login_required_json
@require_POST
def draft_save(request: HttpRequest, slug: str, assignment_id: int) -> JsonResponse:
    """Store the task page's work in progress; answers the new revision."""

    def save(serializer: drf_serializers.Serializer) -> JsonResponse:
        assert isinstance(serializer, DraftSerializer)
        revision = services.assignment_draft_save(
            assignment_id=assignment_id,
            annotator=_user(request),
            draft=serializer.to_draft(),
            page_id=serializer.validated_data["page"],
            base_revision=serializer.validated_data["revision"],
        )
        return JsonResponse({"revision": revision})

    return _json_call(request, slug, DraftSerializer, save)


def _lead_project(request: HttpRequest, slug: str) -> Project:
    project = _member_project(request, slug)
    if not selectors.user_leads(user=_user(request), project=project):
        raise PermissionDenied("Only the project's leads see this page.")
    return project


@login_required
def project_detail(request: HttpRequest, slug: str) -> HttpResponse:
    project = _lead_project(request, slug)
    context = {
        "project": project,
        "counts": selectors.project_counts(project=project),
        "instructions_html": project.instructions_html,
    }
    return render(request, "annotate/project_detail.html", context)


@login_required
def project_export(request: HttpRequest, slug: str) -> HttpResponseBase:
    """GET: the export form and the project's recent export jobs.

    POST from the page (`delivery=job`): an export job a worker writes, then its
    page. A POST without it (a script, an older page) gets the export (with its
    card, a .zip) streamed, as it always did.
    """
    project = _lead_project(request, slug)
    form = ExportForm(request.POST or None, project=project)
    if form.is_valid():
        try:
            if request.POST.get("delivery") == "job":
                job = export_jobs.export_job_create(
                    project=project,
                    options=form.options(),
                    file_type=form.download_type(),
                    with_card=form.with_card(),
                    requested_by=_user(request),
                )
                return redirect(
                    "annotate:project_export_job", slug=project.slug, job_id=job.pk
                )
            download = exporting.export_download(
                project=project,
                options=form.options(),
                file_type=form.download_type(),
                with_card=form.with_card(),
            )
        except exporting.ExportError as error:
            form.add_error(None, str(error))
        else:
            response = StreamingHttpResponse(
                download.chunks, content_type=download.content_type
            )
            response["Content-Disposition"] = (
                f'attachment; filename="{download.filename}"'
            )
            return response
    status = 400 if form.is_bound else 200
    export_jobs.export_jobs_reap_stale()
    context = {
        "project": project,
        "form": form,
        "jobs": project.export_jobs.select_related("requested_by")[:RECENT_EXPORTS],
        "retention_hours": export_jobs.export_retention_hours(),
    }
    return render(request, "annotate/project_export.html", context, status=status)


@login_required
def project_export_job(request: HttpRequest, slug: str, job_id: int) -> HttpResponse:
    """An export job's page: its progress, polled until it ends, then its file."""
    job = _export_job(request, slug, job_id)
    context = {
        "project": job.project,
        "status": export_jobs.export_job_status(job=job),
        "poll_milliseconds": EXPORT_POLL_MILLISECONDS,
    }
    return render(request, "annotate/project_export_job.html", context)


@login_required
def project_export_job_status(
    request: HttpRequest, slug: str, job_id: int
) -> JsonResponse:
    """The export job page's poll."""
    job = _export_job(request, slug, job_id)
    response = JsonResponse(export_jobs.export_job_status(job=job))
    add_never_cache_headers(response)
    return response


@login_required
def project_export_file(
    request: HttpRequest, slug: str, job_id: int
) -> HttpResponseBase:
    """The finished export's file; 409 while it is not ready."""
    job = _export_job(request, slug, job_id)
    try:
        path = export_jobs.export_job_file(job=job)
    except exporting.ExportError as not_ready:
        return HttpResponse(str(not_ready), status=409, content_type="text/plain")
    return FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=job.file_name,
        content_type=job.content_type,
    )


def _export_job(request: HttpRequest, slug: str, job_id: int) -> ExportJob:
    """One of the led project's export jobs, after failing those whose worker died."""
    project = _lead_project(request, slug)
    export_jobs.export_jobs_reap_stale()
    job = get_object_or_404(ExportJob, pk=job_id, project=project)
    job.project = project
    return job


@login_required
def project_quality(request: HttpRequest, slug: str) -> HttpResponse:
    """The lead's quality page: project and per-annotator figures, plots, and the
    human leaderboard of the project's models (training's template tag)."""
    project = _lead_project(request, slug)
    report = quality_report_compute(project=project)
    context = {
        "project": project,
        "report": report,
        "annotators": [(row, trust_band(row.trust)) for row in report.annotators],
    }
    return render(request, "annotate/quality.html", context)


@login_required
def project_quality_plot(request: HttpRequest, slug: str, name: str) -> HttpResponse:
    """One plot of the quality page as a PNG (names: annotate.quality.plots.PLOTS)."""
    project = _lead_project(request, slug)
    if name not in PLOTS:
        raise Http404(f"No plot {name!r}; plots are {', '.join(PLOTS)}.")
    png = quality_plot_png(project=project, name=name)
    response = HttpResponse(png, content_type="image/png")
    add_never_cache_headers(response)
    return response
