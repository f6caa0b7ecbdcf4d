from django.contrib import admin

from centre.checkpoints.models import Checkpoint


@admin.register(Checkpoint)
class CheckpointAdmin(admin.ModelAdmin):
    list_display = ("checkpoint_id", "name", "unit", "contact_phone")
    search_fields = ("checkpoint_id", "name", "unit")
