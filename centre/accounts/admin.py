from django.contrib import admin

from centre.accounts.models import UnitMembership


@admin.register(UnitMembership)
class UnitMembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "unit")
