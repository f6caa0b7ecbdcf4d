from django.apps import AppConfig


class Config(AppConfig):
    name = "centre.checkpoints"
    label = "checkpoints"
    default_auto_field = "django.db.models.BigAutoField"
