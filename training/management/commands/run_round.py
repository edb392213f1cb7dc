"""`manage.py run_round`: launch, relaunch, cancel or watch a project's training round.

    manage.py run_round --project demo --algorithm dpo --set policy.epochs=2 --wait
    manage.py run_round --project demo --relaunch 3 --wait
    manage.py run_round --project demo --cancel 3
    manage.py run_round --project demo --status

The jobs run on Celery workers (`--queues gpu`); this command queues them and, with
--wait, follows their progress until the round ends.
"""

from __future__ import annotations

import json
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from annotate.models import Project
from training import services
from training.models import Round, TrainingRun
from training.rounds import ACTIVE_STATES, IllegalTransition

SETTING_GROUPS = {
    "policy": "policy_settings",
    "reward": "reward_settings",
    "generation": "generation_settings",
    "launch": "launch_settings",
    "data": "data_settings",
}
POLL_SECONDS = 1.0


class Command(BaseCommand):
    help = "Launch, relaunch, cancel or watch a training round of a project."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", required=True, help="project slug")
        action = parser.add_mutually_exclusive_group()
        action.add_argument("--relaunch", type=int, metavar="N", help="resume round N")
        action.add_argument("--cancel", type=int, metavar="N", help="cancel round N")
        action.add_argument(
            "--status", action="store_true", help="print the rounds and their jobs"
        )
        parser.add_argument(
            "--algorithm",
            default=Round.Algorithm.DPO,
            choices=Round.Algorithm.values,
            help="policy algorithm of a new round (default: dpo)",
        )
        parser.add_argument(
            "--set",
            action="append",
            default=[],
            metavar="GROUP.NAME=VALUE",
            help="a setting, GROUP one of policy, reward, generation, launch, data "
            "(e.g. policy.lr=1e-5, generation.k=4, launch.processes=2, "
            "data.min_trust=0.2, data.weighting=trust, data.aggregate=majority); "
            "repeatable",
        )
        parser.add_argument(
            "--prompt",
            action="append",
            default=[],
            help="a new prompt for the next round's candidates; repeatable",
        )
        parser.add_argument(
            "--wait", action="store_true", help="follow the round until it ends"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        project = Project.objects.filter(slug=options["project"]).first()
        if project is None:
            raise CommandError(
                f"--project: no project with slug {options['project']!r}"
            )
        if options["status"]:
            self._print_status(project)
            return
        try:
            round_ = self._act(project, options)
        except services.LaunchRefused as refused:
            lines = "\n".join(f"  {k}: {v}" for k, v in refused.reasons.items())
            raise CommandError(f"the round was not launched:\n{lines}") from refused
        except IllegalTransition as err:
            raise CommandError(str(err)) from err
        self.stdout.write(f"round {round_.number}: {round_.get_state_display()}")
        if options["wait"] and round_.state in ACTIVE_STATES:
            round_ = self._follow(round_)
            if round_.state != Round.State.DONE:
                raise CommandError(
                    f"round {round_.number} ended {round_.state}: {round_.error}"
                )

    def _act(self, project: Project, options: dict[str, Any]) -> Round:
        if options["relaunch"] is not None:
            return services.round_relaunch(round_=_round(project, options["relaunch"]))
        if options["cancel"] is not None:
            return services.round_cancel(round_=_round(project, options["cancel"]))
        groups = _settings(options["set"])
        request = services.LaunchRequest(
            algorithm=options["algorithm"],
            new_prompts=options["prompt"],
            policy_settings=groups["policy_settings"],
            reward_settings=groups["reward_settings"],
            generation_settings=groups["generation_settings"],
            launch_settings=groups["launch_settings"],
            data_settings=groups["data_settings"],
        )
        return services.round_launch(project=project, request=request)

    def _follow(self, round_: Round) -> Round:
        """Progress bars for each job until the round leaves the active states."""
        bars: dict[int, tqdm] = {}
        while True:
            services.runs_reap_stale()
            round_.refresh_from_db()
            for run in round_.runs.order_by("id"):
                bar = bars.get(run.pk)
                if bar is None:
                    label = f"{run.get_kind_display()} #{run.attempt}"
                    bar = bars[run.pk] = tqdm(total=100, desc=label, unit="%")
                bar.n = round(run.progress * 100)
                bar.set_postfix_str(f"{run.status} {run.message}"[:60])
            if round_.state not in ACTIVE_STATES:
                break
            time.sleep(POLL_SECONDS)
        for bar in bars.values():
            bar.close()
        self.stdout.write(f"round {round_.number}: {round_.get_state_display()}")
        return round_

    def _print_status(self, project: Project) -> None:
        services.runs_reap_stale()
        for round_ in project.rounds.order_by("number"):
            self.stdout.write(
                f"round {round_.number} {round_.algorithm}: "
                f"{round_.get_state_display()} {round_.error}".rstrip()
            )
            for run in round_.runs.order_by("id"):
                self.stdout.write(_run_line(run))


def _round(project: Project, number: int) -> Round:
    round_ = project.rounds.filter(number=number).first()
    if round_ is None:
        raise CommandError(f"project {project.slug} has no round {number}")
    return round_


def _settings(pairs: list[str]) -> dict[str, dict[str, Any]]:
    """--set policy.lr=1e-5 → {"policy_settings": {"lr": 1e-05}}; values as JSON."""
    groups: dict[str, dict[str, Any]] = {name: {} for name in SETTING_GROUPS.values()}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        group, dot, name = key.partition(".")
        if not sep or not dot or group not in SETTING_GROUPS or not name:
            raise CommandError(
                f"--set {pair!r}: expected GROUP.NAME=VALUE with GROUP one of "
                f"{', '.join(SETTING_GROUPS)}"
            )
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw  # a bare word is a string (e.g. policy.loss=ipo)
        groups[SETTING_GROUPS[group]][name] = value
    return groups


def _run_line(run: TrainingRun) -> str:
    tail = f" — {run.error.splitlines()[0]}" if run.error else ""
    resumed = (
        f", resumed from step {run.resumed_from_step}"
        if run.resumed_from_step is not None
        else ""
    )
    return (
        f"  {run.get_kind_display()} #{run.attempt}: {run.status} "
        f"{run.progress:.0%}{resumed}{tail}"
    )
