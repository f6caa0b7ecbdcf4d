"""Checkpoints: list, register, edit, and the QR poster for the door."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required, permission_required
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _

from centre.accounts.roles import unit_of
from centre.checkpoints.models import Checkpoint
from centre.ids import posted_id
from centre.portal.forms import AddressForm, address_form
from centre.reports.models import AuditEntry
from protocol.checkpoint import valid_checkpoint_id


class CheckpointForm(AddressForm, forms.ModelForm):
    """A checkpoint as the district registers it; where it is by the official codes when given
    (a province given needs its ward)."""

    OLD_ADDRESS = False
    REQUIRED = False

    class Meta:
        model = Checkpoint
        fields = ["checkpoint_id", "name", "province_code", "ward_code", "address", "contact_person",
                  "contact_phone", "unit"]

    def clean_checkpoint_id(self):
        value = self.cleaned_data["checkpoint_id"].strip()
        if not valid_checkpoint_id(value):
            raise forms.ValidationError(_("Letters, digits, '-' and '_' only."))
        return value


def _visible(request: HttpRequest):
    qs = Checkpoint.objects.all()
    unit = unit_of(request.user)
    return qs if unit is None else qs.filter(unit=unit)


@login_required
@permission_required("checkpoints.view_checkpoint", raise_exception=True)
def checkpoint_list(request: HttpRequest) -> HttpResponse:
    qs = _visible(request)
    query = request.GET.get("q", "").strip()[:100]
    if query:
        qs = qs.filter(name__icontains=query) | qs.filter(checkpoint_id__icontains=query)
    return render(request, "centre/checkpoints.html", {"checkpoints": qs.order_by("checkpoint_id")[:200],
                                                       "total": qs.count(), "q": query})


@login_required
@permission_required("checkpoints.add_checkpoint", raise_exception=True)
def checkpoint_new(request: HttpRequest) -> HttpResponse:
    form = address_form(CheckpointForm, request)
    if request.method == "POST" and form.is_valid():  # Django's form refuses an id it sees taken
        cp = form.save(commit=False)
        try:
            with transaction.atomic():  # one made since (a second form sent at once) is told, not a 500
                cp.save(force_insert=True)
        except IntegrityError:
            form.add_error("checkpoint_id", _("This checkpoint exists already."))
        else:
            cp.approve(by=request.user.get_username())  # the district registers it: approved
            return redirect("checkpoints")
    return render(request, "centre/checkpoint_form.html", {"form": form, "new": True})


@login_required
@permission_required("checkpoints.change_checkpoint", raise_exception=True)
def checkpoint_edit(request: HttpRequest, checkpoint_id: str) -> HttpResponse:
    cp = get_object_or_404(_visible(request), pk=checkpoint_id)
    form = address_form(CheckpointForm, request, instance=cp)
    form.fields["checkpoint_id"].disabled = True
    if unit_of(request.user) is not None:
        form.fields["unit"].disabled = True  # a unit manager cannot move a checkpoint to another unit
    if request.method == "POST" and form.is_valid():
        form.save()
        return redirect("checkpoints")
    return render(request, "centre/checkpoint_form.html", {"form": form, "new": False, "checkpoint": cp})


@login_required
@permission_required("checkpoints.view_checkpoint", raise_exception=True)
def poster(request: HttpRequest, checkpoint_id: str, fmt: str) -> HttpResponse:
    cp = get_object_or_404(_visible(request), pk=checkpoint_id)
    from common.poster import poster_bytes  # the same poster the technicians print

    try:
        data, content_type = poster_bytes(cp.checkpoint_id, cp.name, cp.address, cp.contact_phone, cp.unit, fmt,
                                          settings.PORTAL_URL)
    except ValueError:
        raise Http404 from None
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'inline; filename="poster-{cp.checkpoint_id}.{fmt}"'
    return response


@login_required
@permission_required("checkpoints.approve_checkpoint", raise_exception=True)
def review(request: HttpRequest) -> HttpResponse:
    """Units that registered themselves, waiting for the district: until approved, their staff
    cannot look people up at the door. Approving is recorded in the audit log."""
    if request.method == "POST":
        cp = get_object_or_404(Checkpoint, pk=posted_id(request, "checkpoint_id"), approved_at__isnull=True)
        cp.approve(by=request.user.get_username())
        AuditEntry.record(AuditEntry.APPROVAL, f"{cp.checkpoint_id} {cp.name}", user=request.user)
        return redirect("checkpoint-review")
    waiting = Checkpoint.objects.filter(approved_at__isnull=True).order_by("created_at")
    return render(request, "centre/review.html", {"waiting": waiting[:200], "total": waiting.count()})
