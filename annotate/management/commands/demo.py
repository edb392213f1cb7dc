from django.core.management.base import BaseCommand

from annotate.demo import DEMO_LOGINS, demo_seed


class Command(BaseCommand):
    help = (
        "Create the demo project, its prompts and outputs, a lead and two annotators."
    )

    def handle(self, *args: object, **options: object) -> None:
        project, prompts, outputs = demo_seed()
        self.stdout.write(
            f"Demo project '{project.slug}': {project.prompts.count()} prompts "
            f"({prompts} new, {outputs} new outputs)."
        )
        self.stdout.write("Logins (username / password):")
        for login in DEMO_LOGINS:
            self.stdout.write(
                f"  {login.username:<11} / {login.password}  ({login.role})"
            )
