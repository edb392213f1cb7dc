"""`manage.py simulate`: check a round set-up on simulated annotators before paying any.

    manage.py simulate --project sim-dpo --rule length --rounds 3 --algorithm dpo
    manage.py simulate --project sim-quick --rule keyword --rounds 1 --inline \\
        --prompts-per-round 6 --eval-samples 2 --set policy.epochs=1 --json

Simulated annotators (sim-annotator-1..N, who cannot log in) rank every task by a
hidden rule with noise, through the same services as the web and the API; each
round runs on the Celery workers (or, with --inline, in this process); the policy
before the first round and after each is scored by the hidden rule on 16 held-out
prompts. Prints the table and where the plot and the JSON were written.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from training import services, simulation
from training.management.commands.run_round import Command as RunRoundCommand
from training.management.commands.run_round import _settings
from training.models import Round

OPTIONS = {field.name for field in dataclasses.fields(simulation.SimulationConfig)}


class Command(BaseCommand):
    help = (
        "Simulated annotators rank by a hidden rule; each round's policy is scored "
        "by that rule on held-out prompts, with a paired t-test against the base."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--project", required=True, help="slug of a new (or empty) project"
        )
        parser.add_argument(
            "--rule",
            required=True,
            help=f"hidden rule: length (words, capped at "
            f"{simulation.LENGTH_CAP_WORDS}) or keyword (count of "
            f"{', '.join(simulation.KEYWORDS)}; capped at {simulation.KEYWORD_CAP})",
        )
        parser.add_argument("--rounds", type=int, default=3, help="rounds to run")
        parser.add_argument(
            "--algorithm",
            default=Round.Algorithm.DPO,
            help=f"policy algorithm of every round: {', '.join(Round.Algorithm.values)}"
            " (bon keeps the base weights, so its score cannot move)",
        )
        parser.add_argument("--annotators", type=int, default=3)
        parser.add_argument(
            "--overlap",
            type=int,
            default=None,
            help="annotators who rank each prompt (default: all of them)",
        )
        parser.add_argument(
            "--noise",
            type=float,
            default=0.1,
            help="chance that an annotation swaps two neighbouring ranks",
        )
        parser.add_argument(
            "--prompts-per-round",
            type=int,
            default=16,
            help="prompts in the first batch and in each round's new batch",
        )
        parser.add_argument(
            "--eval-samples",
            type=int,
            default=8,
            help="samples per held-out prompt when scoring a policy",
        )
        parser.add_argument("--seed", type=int, default=0, help="annotators' seed")
        parser.add_argument(
            "--set",
            action="append",
            default=[],
            metavar="GROUP.NAME=VALUE",
            help="a round setting as in run_round (policy, reward, generation); "
            "generation.* also sets the base outputs' and the scoring's sampling",
        )
        parser.add_argument(
            "--inline",
            action="store_true",
            help="run the rounds' jobs in this process instead of on the workers",
        )
        parser.add_argument(
            "--out",
            type=Path,
            default=None,
            help="folder for the plot and the JSON (default: var/simulations/SLUG)",
        )
        parser.add_argument(
            "--json", action="store_true", help="print the JSON instead of the table"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        groups = _settings(options["set"])
        config = simulation.SimulationConfig(
            project=options["project"],
            rule=options["rule"],
            rounds=options["rounds"],
            algorithm=options["algorithm"],
            annotators=options["annotators"],
            overlap=options["overlap"],
            noise=options["noise"],
            prompts_per_round=options["prompts_per_round"],
            eval_samples=options["eval_samples"],
            seed=options["seed"],
            inline=options["inline"],
            out=options["out"],
            **groups,
        )
        watcher = RunRoundCommand()  # run_round --wait's progress bars, reused
        watcher.stdout = self.stderr if options["json"] else self.stdout
        try:
            result = simulation.simulation_run(config=config, follow=watcher._follow)
        except simulation.SimulationError as err:
            errors = {_option(key): why for key, why in err.errors.items()}
            raise CommandError(_lines("the simulation cannot run", errors)) from err
        except services.LaunchRefused as refused:
            message = _lines("a round was not launched", refused.reasons)
            raise CommandError(message) from refused
        if options["json"]:
            self.stdout.write(json.dumps(result.report, indent=2))
            return
        self.stdout.write(simulation.score_table(result.report))
        self.stdout.write(f"plot: {result.plot_path}\nfigures: {result.json_path}")


def _option(key: str) -> str:
    """An error's key as the option is typed (--noise, --set policy.lr)."""
    if key in OPTIONS:
        return "--" + key.replace("_", "-")
    return f"--set {key}" if "." in key else key


def _lines(title: str, errors: dict[str, str]) -> str:
    return title + ":\n" + "\n".join(f"  {key}: {why}" for key, why in errors.items())
