from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Group, User

from centre.accounts.models import UnitMembership
from centre.accounts.roles import ROLES


@admin.register(UnitMembership)
class UnitMembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "unit")


admin.site.unregister(User)


@admin.register(User)
class DistrictUserAdmin(UserAdmin):
    """The district administrator manages the site's users: names, passwords, active or not, and
    one of the four roles. Superuser status and permissions one by one stay with a superuser, so
    nobody can grant themselves more than a role gives (deleting the audit log, say)."""

    def get_queryset(self, request):
        # people and units signing in by phone are accounts too, but not the site's staff
        return super().get_queryset(request).filter(phone_account__isnull=True)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if request.user.is_superuser:
            return fieldsets
        hidden = {"is_superuser", "user_permissions"}
        return [(name, {**opts, "fields": [f for f in opts["fields"] if f not in hidden]})
                for name, opts in fieldsets]

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "groups" and not request.user.is_superuser:
            kwargs["queryset"] = Group.objects.filter(name__in=ROLES)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None):
        # a superuser's account is a superuser's to change
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)
