from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class Config(AppConfig):
    """The check-in ledger: what the gates, the poster and staff at the door record, as the bridge
    stores it (its tables are made and upgraded by this app's migrations, like every other)."""

    name = "centre.ledger"
    label = "ledger"
    verbose_name = _("check-ins")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from centre.ledger.deletions import after_migrate

        post_migrate.connect(after_migrate, dispatch_uid="vhd-deleted-declarations")
