from django.contrib import admin

from centre.fleet.models import Device


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = ("device_id", "checkpoint", "online", "last_seen", "queue_depth", "firmware")
    list_filter = ("online",)
    search_fields = ("device_id",)
    readonly_fields = ("online", "last_seen", "queue_depth", "oldest_unsent_s", "time_synced", "firmware")
