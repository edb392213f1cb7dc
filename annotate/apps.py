from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_out, user_login_failed
from django.db.models.signals import post_migrate


class AnnotateConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "annotate"
    verbose_name = "Annotation"

    def ready(self) -> None:
        from annotate import throttling, tokens

        user_login_failed.connect(
            throttling.count_failed_login, dispatch_uid="annotate.login"
        )
        user_logged_out.connect(tokens.revoke_on_logout, dispatch_uid="annotate.logout")
        post_migrate.connect(throttling.cache_table_create, sender=self)
