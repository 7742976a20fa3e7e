"""The licence certificate as a PDF (fpdf2): the same facts as the printable page, from the same
context (portal/mixes/deliverables.py certificate_context), so the two never disagree.

Fonts: artists' names are in any script, and the PDF core fonts (Helvetica) only cover
Latin-1. The first TrueType font found among settings.CERTIFICATE_PDF_FONTS (by default DejaVu
Sans, Liberation Sans or Noto Sans where the system has them) is embedded, subset to the
characters used. With none installed the certificate falls back to Helvetica and writes a
character it cannot show as "?", and says so on the page, rather than failing the download:
the HTML page shows every name either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

_MARGIN_MM = 18
_NEXT_LINE: dict[str, Any] = {"new_x": XPos.LMARGIN, "new_y": YPos.NEXT}


def certificate_font() -> Path | None:
    """The TrueType font the certificate embeds, or None for the Latin-1 core font."""
    for candidate in settings.CERTIFICATE_PDF_FONTS:
        path = Path(candidate)
        if path.is_file():
            return path
    return None


class _Certificate(FPDF):
    def __init__(self, font: Path | None) -> None:
        super().__init__(format="A4")
        self.set_margins(_MARGIN_MM, _MARGIN_MM, _MARGIN_MM)
        self.set_auto_page_break(auto=True, margin=_MARGIN_MM)
        self.unicode_font = font is not None
        if font is not None:
            self.add_font("Certificate", "", str(font))
            self.family_name = "Certificate"
        else:
            self.family_name = "Helvetica"
        self.lossy = False

    def text_of(self, value: object) -> str:
        text = str(value)
        if self.unicode_font:
            return text
        safe = text.encode("latin-1", "replace").decode("latin-1")
        self.lossy = self.lossy or safe != text
        return safe

    def heading(self, text: str, size: float) -> None:
        self.set_font(self.family_name, size=size)
        self.multi_cell(0, size * 0.55, self.text_of(text), **_NEXT_LINE)
        self.ln(1.5)

    def paragraph(self, text: str, size: float = 10) -> None:
        self.set_font(self.family_name, size=size)
        self.multi_cell(0, size * 0.5, self.text_of(text), **_NEXT_LINE)
        self.ln(1)

    def facts(self, rows: Sequence[tuple[str, str]]) -> None:
        self.set_font(self.family_name, size=10)
        for label, value in rows:
            self.cell(32, 6, self.text_of(label))
            self.multi_cell(0, 6, self.text_of(value), **_NEXT_LINE)

    def credits_table(self, credits: Sequence[Any]) -> None:
        self.set_font(self.family_name, size=9)
        header = ("Artist", "Stem", "Role", "Split of the stem", "Share of the soundtrack")
        # Headings shaded, not bold: a bold face of the embedded font may not be installed.
        headings = FontFace(emphasis="", fill_color=(232, 232, 232))
        with self.table(
            col_widths=(34, 40, 20, 24, 26), text_align="LEFT", headings_style=headings
        ) as table:
            table.row([self.text_of(cell) for cell in header])
            for credit in credits:
                table.row(
                    [
                        self.text_of(credit.artist),
                        self.text_of(credit.stem_title),
                        self.text_of(credit.stem_role),
                        f"{credit.split_percent}%",
                        f"{credit.share_percent}%",
                    ]
                )


def certificate_pdf(context: dict[str, Any], *, verify_command: str) -> bytes:
    """The certificate PDF for `certificate_context(mix)`; `verify_command` as the page says it."""
    pdf = _Certificate(certificate_font())
    pdf.set_title(pdf.text_of(f"Licence certificate {context['render_id']}"))
    pdf.set_author("Stemvault")
    pdf.set_creation_date(context["issued"])
    pdf.add_page()
    pdf.heading("Licence certificate", 18)
    pdf.paragraph("Stemvault soundtrack licence", 10)
    licensee = str(context["licensee"])
    if context.get("client_app") is not None:
        licensee += f' (through the app "{context["client_app"].name}")'
    issued = context["issued"]
    pdf.facts(
        [
            ("Soundtrack", str(context["title"])),
            ("Licensee", licensee),
            ("Render id", str(context["render_id"])),
            ("Date", f"{issued:%Y-%m-%d %H:%M} UTC" if issued else ""),
            ("Duration", str(context["duration"])),
            ("Usage", str(context["usage_label"])),
            ("Audio", "decoded PCM, sha256:"),
            ("", str(context["audio_sha256"])),
            ("Manifest key", str(context["key_id"])),
        ]
    )
    pdf.ln(3)
    pdf.heading("Permitted uses", 13)
    uses = list(context["permitted_uses"])
    if not uses:
        uses = ["None: the stems' licences grant no use in common. Do not publish this soundtrack."]
    for use in uses:
        pdf.paragraph(f"- {use}")
    licences = context.get("licences") or []
    if licences:
        named = "; ".join(
            f'v{licence.version} "{licence.title}" (terms sha256 {licence.terms_sha256[:16]}...)'
            for licence in licences
        )
        pdf.paragraph(f"Under the stem licence{'s' if len(licences) > 1 else ''}: {named}.")
    pdf.ln(2)
    pdf.heading("Credits", 13)
    pdf.credits_table(context["credits"])
    pdf.ln(3)
    pdf.paragraph(
        f"Verify the file: {verify_command}. The credits above are the signed manifest's."
    )
    if pdf.lossy:
        pdf.paragraph(
            "Some names use characters this PDF's font cannot show (written as ?); the "
            "certificate page on Stemvault shows them in full.",
            8,
        )
    return bytes(pdf.output())


def certificate_pdf_response(request: HttpRequest, context: dict[str, Any]) -> HttpResponse:
    """The PDF as a download: the same answer from the site and from the Sync API."""
    portal_url = f"{request.scheme}://{request.get_host()}"
    body = certificate_pdf(
        context, verify_command=f"python -m renderer verify FILE --portal-url {portal_url}"
    )
    response = HttpResponse(body, content_type="application/pdf")
    filename = f"stemvault-licence-{context['render_id']}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, max-age=3600"
    return response
