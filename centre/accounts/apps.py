from django.apps import AppConfig
from django.db.models.signals import post_migrate


class Config(AppConfig):
    name = "centre.accounts"
    label = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from centre.accounts.roles import ensure_roles

        post_migrate.connect(ensure_roles, dispatch_uid="vhd-roles")
