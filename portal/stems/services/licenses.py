"""Publishing license versions: published terms never change."""

from __future__ import annotations

import hashlib

from django.db import transaction

from portal.audit.services import audit_record
from portal.core.errors import Conflict
from portal.stems.models import LicenseTemplate


@transaction.atomic
def license_template_publish(*, version: int, title: str, terms: str) -> LicenseTemplate:
    """Publish a license version. Published terms never change: the same version with other
    terms is refused, the same version with the same terms is a no-op."""
    terms_sha256 = hashlib.sha256(terms.encode()).hexdigest()
    existing = LicenseTemplate.objects.filter(version=version).first()
    if existing is not None:
        if existing.terms_sha256 != terms_sha256:
            raise Conflict(
                "license_version_exists",
                f"License version {version} is already published with other terms; "
                "publish the new text as a new version.",
            )
        return existing
    license_ = LicenseTemplate(
        version=version, title=title, terms=terms, terms_sha256=terms_sha256, is_current=True
    )
    license_.full_clean()
    license_.save()
    # One current version: new contributions default to it; older ones stay valid for receipts.
    LicenseTemplate.objects.exclude(pk=license_.pk).update(is_current=False)
    audit_record(
        actor=None,
        action="license.published",
        subject=f"license:{version}",
        after={"version": version, "title": title, "terms_sha256": terms_sha256},
    )
    return license_
