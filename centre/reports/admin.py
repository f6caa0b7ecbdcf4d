from django.contrib import admin

from centre.reports.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("at", "username", "action", "target", "reason")
    list_filter = ("action",)

    def has_add_permission(self, request):  # the log is written by the site, never by hand
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
