"""Staff's audit log page: who did what to what, when, and what changed; filtered, paged."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from portal.accounts.models import Role
from portal.audit.selectors import audit_entries_for, audit_entries_shown
from portal.review.audit_log import action_choices, audit_filtered, readable
from portal.review.page_access import page_base, page_of, roles_required


class AuditFilterForm(forms.Form):
    actor = forms.CharField(label="Who", max_length=150, required=False)
    # A select of the labelled actions over a plain text value: any prefix (an old bookmark's
    # "review.") still filters.
    action = forms.CharField(label="Did what", max_length=64, required=False)
    subject = forms.CharField(label="To what", max_length=80, required=False)
    since = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["action"].widget = forms.Select(choices=action_choices())
        self.fields["actor"].widget.attrs["placeholder"] = "name, or “system”"
        self.fields["subject"].widget.attrs["placeholder"] = "stem:42"


@require_GET
@roles_required(Role.STAFF)
def audit(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    entries = audit_filtered(audit_entries_for(user=request.user), **filters)
    page = page_of(request, entries)
    rows = readable(audit_entries_shown(page.object_list, viewer=request.user), viewer=request.user)
    return render(
        request,
        "review/audit.html",
        {
            **page_base(request),
            "form": form,
            "page": page,
            "rows": rows,
        },
    )
