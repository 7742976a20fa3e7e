"""Publishing license versions: published terms never change."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from django.db import transaction

from portal.audit.services import audit_record
from portal.core.errors import ApplicationError, Conflict
from portal.stems.models import STANDARD_PERMITTED_USES, LicenseTemplate


@transaction.atomic
def license_template_publish(
    *,
    version: int,
    title: str,
    terms: str,
    permitted_uses: Sequence[str] = STANDARD_PERMITTED_USES,
) -> LicenseTemplate:
    """Publish a license version. Published terms and uses never change: the same version with
    other terms or uses is refused, the same version with the same ones is a no-op."""
    uses = [use.strip() for use in permitted_uses]
    if not uses or any(not use for use in uses):
        raise ApplicationError(
            "permitted_uses_required",
            "A license version must list at least one permitted use, none of them empty.",
        )
    terms_sha256 = hashlib.sha256(terms.encode()).hexdigest()
    existing = LicenseTemplate.objects.filter(version=version).first()
    if existing is not None:
        if existing.terms_sha256 != terms_sha256 or list(existing.permitted_uses) != uses:
            raise Conflict(
                "license_version_exists",
                f"License version {version} is already published with other terms or uses; "
                "publish the new text as a new version.",
            )
        return existing
    license_ = LicenseTemplate(
        version=version,
        title=title,
        terms=terms,
        terms_sha256=terms_sha256,
        permitted_uses=uses,
        is_current=True,
    )
    license_.full_clean()
    license_.save()
    # One current version: new contributions default to it; older ones stay valid for receipts.
    LicenseTemplate.objects.exclude(pk=license_.pk).update(is_current=False)
    audit_record(
        actor=None,
        action="license.published",
        subject=f"license:{version}",
        after={
            "version": version,
            "title": title,
            "terms_sha256": terms_sha256,
            "permitted_uses": uses,
        },
    )
    return license_
