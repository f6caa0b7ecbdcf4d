"""The four roles, as Django groups with their permissions (made again after every migrate)."""

DISTRICT_ADMIN, TRACER, UNIT_MANAGER, TECHNICIAN = "district_admin", "tracer", "unit_manager", "technician"
ROLES = {
    DISTRICT_ADMIN: ["checkpoints.view_checkpoint", "checkpoints.add_checkpoint", "checkpoints.change_checkpoint",
                     "checkpoints.approve_checkpoint",
                     "fleet.view_device", "fleet.change_device", "reports.view_reports",
                     "reports.trace_contacts", "reports.view_auditentry",
                     "portal.delete_declaration",  # on a person's request (Decree 13), audited
                     # the site's users, in Django's admin (superuser status excepted: see admin.py)
                     "auth.view_user", "auth.add_user", "auth.change_user", "auth.view_group",
                     "accounts.view_unitmembership", "accounts.add_unitmembership",
                     "accounts.change_unitmembership", "accounts.delete_unitmembership"],
    TRACER: ["reports.trace_contacts", "checkpoints.view_checkpoint"],
    UNIT_MANAGER: ["checkpoints.view_checkpoint", "checkpoints.change_checkpoint", "reports.view_reports"],
    TECHNICIAN: ["fleet.view_device", "fleet.change_device", "checkpoints.view_checkpoint"],
}


def ensure_roles(**_kwargs) -> None:
    from django.contrib.auth.models import Group, Permission

    for name, perms in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        wanted = []
        for perm in perms:
            app, codename = perm.split(".")
            found = Permission.objects.filter(content_type__app_label=app, codename=codename).first()
            if found:
                wanted.append(found)
        group.permissions.set(wanted)


def unit_of(user) -> str | None:
    """The unit a unit manager is limited to; None for district-wide roles."""
    if user.has_perm("reports.view_auditentry") or user.has_perm("fleet.view_device") \
            or user.has_perm("reports.trace_contacts"):
        return None
    membership = getattr(user, "unit_membership", None)
    return membership.unit if membership else ""
