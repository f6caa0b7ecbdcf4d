from django.apps import AppConfig


class Config(AppConfig):
    name = "centre.fleet"
    label = "fleet"
    default_auto_field = "django.db.models.BigAutoField"
