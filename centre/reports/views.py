"""Reports per checkpoint and per unit, contact tracing with its reason, and the audit log."""

from __future__ import annotations

from datetime import date, timedelta

from django import forms
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.core.validators import MaxValueValidator, MinValueValidator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.defaultfilters import yesno
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from centre.accounts.roles import unit_of
from centre.reports.figures import FIRST_DAY, LAST_DAY, TZ, ReportError, checkpoint_days, day_bounds, unit_days
from centre.reports.figures import render as render_rows
from centre.reports.models import AuditEntry
from centre.reports.store import SiteStore
from centre.reports.tracing import trace
from common.csvtext import csv_text


def _today() -> date:
    from datetime import datetime

    return datetime.now(TZ).date()


# Vietnamese dates: 29/11/2026 is the 29th of November in either language (never 11 May for
# 05/11/2026), and a phone's date picker (type="date") sends 2026-11-29.
DATE_FORMATS = ["%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y"]


def date_field(label, **kwargs) -> forms.DateField:
    return forms.DateField(label=label, input_formats=DATE_FORMATS, localize=False,
                           validators=[MinValueValidator(FIRST_DAY), MaxValueValidator(LAST_DAY)],
                           widget=forms.DateInput(attrs={"type": "date", "min": FIRST_DAY.isoformat(),
                                                         "max": LAST_DAY.isoformat()}, format="%Y-%m-%d"),
                           **kwargs)


class PeriodForm(forms.Form):
    date_from = date_field(_("from"), required=False)
    date_to = date_field(_("to"), required=False)
    by = forms.ChoiceField(label=_("per"), choices=[("checkpoint", _("checkpoint")), ("unit", _("unit"))],
                           required=False)

    def clean(self):
        data = super().clean()
        first = data.get("date_from") or _today()
        last = data.get("date_to") or first
        if last < first:
            raise forms.ValidationError(_("The period ends before it starts."))
        if (last - first).days > 92:
            raise forms.ValidationError(_("A report covers at most 93 days."))
        data["date_from"], data["date_to"] = first, last
        return data


class TraceForm(forms.Form):
    person = forms.CharField(label=_("declaration id or citizen id"), max_length=64)
    date_from = date_field(_("from"))
    date_to = date_field(_("to (empty: today)"), required=False)
    max_stay_hours = forms.FloatField(label=_("longest stay without check-out (hours)"), min_value=0.25,
                                      max_value=24, initial=4)
    reason = forms.CharField(label=_("reason (case, order number)"), min_length=5, max_length=500,
                             widget=forms.Textarea(attrs={"rows": 2}))

    def clean(self):
        data = super().clean()
        if data.get("date_from"):
            data["date_to"] = data.get("date_to") or _today()  # the default period ends today: it shows something
            if data["date_to"] < data["date_from"] or (data["date_to"] - data["date_from"]).days > 30:
                raise forms.ValidationError(_("Trace at most 31 days, in order."))
        return data


def _audit(request: HttpRequest, action: str, target: str, reason: str = "") -> None:
    AuditEntry.record(action, target, reason, user=request.user)


def _csv(rows: list | str, name: str) -> HttpResponse:
    response = HttpResponse(rows if isinstance(rows, str) else render_rows(rows, "csv"),
                            content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


REPORT_PER_PAGE = 100  # rows of the table a page; the totals and the CSV cover them all


@login_required
@permission_required("reports.view_reports", raise_exception=True)
def reports(request: HttpRequest) -> HttpResponse:
    form = PeriodForm(request.GET or None)
    rows: list = []
    error, source = None, None
    if form.is_valid():
        first, last, by = form.cleaned_data["date_from"], form.cleaned_data["date_to"], form.cleaned_data["by"]
        unit = unit_of(request.user)
        store = SiteStore()
        source = store.source
        try:
            rows = unit_days(store, first, last) if by == "unit" else checkpoint_days(store, first, last)
        except ReportError as exc:
            error = str(exc)
        if unit is not None:
            rows = [r for r in rows if r.unit == unit]
        if request.GET.get("format") == "csv":
            _audit(request, AuditEntry.REPORT_EXPORT, f"{by or 'checkpoint'} {first}..{last}")
            return _csv(rows, f"bao-cao-{first}-{last}.csv")
    page = Paginator(rows, REPORT_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    totals = {name: sum(getattr(r, name) for r in rows)
              for name in ("check_ins", "check_outs", "still_inside", "gates_silent")}
    return render(request, "centre/reports.html", {"form": form, "rows": page.object_list, "page": page,
                                                   "total": len(rows), "totals": totals, "error": error,
                                                   "query": query.urlencode(), "source": source})


TRACE_SHOWN = 100  # contacts listed on the page; hundreds more would only slow it down


@login_required
@permission_required("reports.trace_contacts", raise_exception=True)
def trace_view(request: HttpRequest) -> HttpResponse:
    form = TraceForm(request.POST or None, initial={"date_from": _today() - timedelta(days=13), "date_to": _today(),
                                                    "max_stay_hours": 4})
    result = None
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        start, end = day_bounds(d["date_from"], d["date_to"], TZ)
        store = SiteStore()
        visits, contacts = trace(store, d["person"].strip(), start, end, timedelta(hours=d["max_stay_hours"]))
        export = "export" in request.POST
        _audit(request, AuditEntry.TRACE_EXPORT if export else AuditEntry.TRACE, d["person"].strip(), d["reason"])
        if export:
            rows: list[list[object]] = [["visit", v.subject, "", v.checkpoint_id, v.start.astimezone(TZ).isoformat(),
                                         v.end.astimezone(TZ).isoformat(), ""] for v in visits]
            rows += [["contact", c.subject, c.display_name, c.checkpoint_id, c.first_overlap.astimezone(TZ).isoformat(),
                      c.last_overlap.astimezone(TZ).isoformat(), c.overlap_minutes] for c in contacts]
            return _csv(csv_text(["type", "person", "name", "checkpoint_id", "from", "to", "minutes"], rows),
                        "truy-vet.csv")
        # Most exposed first: the page lists the first TRACE_SHOWN, the CSV every one. The rows are
        # joined here, escaped, not rendered cell by cell through the template engine, which cost
        # more than the rest of the page; times as text.
        local = lambda t: t.astimezone(TZ).strftime("%Y-%m-%d %H:%M")  # noqa: E731
        shown = contacts[:TRACE_SHOWN]
        result = {"visits": len(visits), "total": len(contacts), "shown": len(shown), "source": store.source,
                  "visit_rows": format_html_join("", "<tr>" + "<td>{}</td>" * 4 + "</tr>", (
                      (v.checkpoint_id, local(v.start), local(v.end), yesno(v.closed)) for v in visits)),
                  "contact_rows": format_html_join("", "<tr>" + "<td>{}</td>" * 5 + "</tr>", (
                      (c.subject, c.display_name, c.checkpoint_id, local(c.first_overlap), c.overlap_minutes)
                      for c in shown))}
    return render(request, "centre/trace.html", {"form": form, "result": result})


@login_required
@permission_required("reports.view_auditentry", raise_exception=True)
def audit(request: HttpRequest) -> HttpResponse:
    return render(request, "centre/audit.html", {"entries": AuditEntry.objects.all()[:500]})
