"""The orientation sheet as a one-page A4 PDF (fpdf2).

A Unicode TrueType font of the system is used when one is found (DejaVu Sans, Liberation
Sans: accents, « », €); otherwise the PDF core font Helvetica with the few characters it lacks
replaced (€ -> EUR). The document's title and subject name the schemes (readable metadata).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from fpdf import FPDF

from bot.console.orientation import OrientationSheet

FONT_CANDIDATES = (
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    ("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
     "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf"),
)  # fmt: skip
CORE_REPLACEMENTS = {"€": "EUR", "œ": "oe", "Œ": "OE", "’": "'", "‘": "'", "“": '"', "”": '"', "…": "...",
                     "–": "-", "—": "-", "\u202f": " ", "\u2009": " ", "·": "-", "•": "-"}  # fmt: skip


@lru_cache(maxsize=1)
def unicode_font() -> tuple[str, str] | None:
    for regular, bold in FONT_CANDIDATES:
        if Path(regular).exists() and Path(bold).exists():
            return regular, bold
    return None


class SheetPdf(FPDF):
    def __init__(self) -> None:
        super().__init__(format="A4")
        self.set_margins(15, 12, 15)
        self.set_auto_page_break(True, margin=12)
        font = unicode_font()
        if font is not None:
            self.add_font("Sheet", "", font[0])
            self.add_font("Sheet", "B", font[1])
            self.family, self.unicode = "Sheet", True
        else:
            self.family, self.unicode = "helvetica", False

    def clean(self, text: str) -> str:
        if self.unicode:
            return text
        for char, replacement in CORE_REPLACEMENTS.items():
            text = text.replace(char, replacement)
        return text.encode("latin-1", "replace").decode("latin-1")

    def line_text(self, text: str, size: float = 9.5, bold: bool = False, indent: float = 0.0) -> None:
        self.set_font(self.family, "B" if bold else "", size)
        self.set_x(self.l_margin + indent)
        self.multi_cell(self.epw - indent, size * 0.45, self.clean(text), new_x="LMARGIN", new_y="NEXT")


def sheet_pdf(sheet: OrientationSheet) -> bytes:
    pdf = SheetPdf()
    pdf.set_title(sheet.title)
    pdf.set_subject(" ; ".join(s["name"] for s in sheet.schemes))
    pdf.set_creator("Aiguillage")
    pdf.add_page()
    pdf.line_text("Vos démarches", size=16, bold=True)
    where = f" — {sheet.commune}" if sheet.commune else ""
    pdf.line_text(f"Fiche remise par {sheet.structure}, le {sheet.day}{where}", size=9)
    pdf.ln(2)
    for scheme in sheet.schemes:
        pdf.line_text(scheme["name"], size=11.5, bold=True)
        label = f"{scheme['status_label']} — " if scheme["status_label"] else ""
        pdf.line_text(label + " ".join(scheme["why"][:2]), indent=3)
        if scheme["status"] == "to_check" and scheme["to_verify"]:
            pdf.line_text("À vérifier : " + " ".join(scheme["to_verify"][:2]), indent=3)
        if scheme["amount"]:
            label = "Montant estimé" if scheme["estimated"] else "Montant"
            pdf.line_text(f"{label} : {scheme['amount']}", indent=3)
        for number, step in enumerate(scheme["steps"][:4], 1):
            pdf.line_text(f"{number}. {step}", indent=3)
        if scheme["documents"]:
            pdf.line_text("À apporter : " + ", ".join(scheme["documents"]), indent=3)
        pdf.ln(1.5)
    if sheet.places:
        pdf.line_text("Où aller", size=11.5, bold=True)
        for place in sheet.places:
            contacts = " · ".join(place["contacts"].values())
            distance = f" (à {place['distance_km']:g} km)" if place["distance_km"] is not None else ""
            pdf.line_text(f"{place['name']}{distance}", bold=True, indent=3)
            pdf.line_text(", ".join(p for p in (place["address"], contacts) if p), indent=3)
            if place["hours"]:
                pdf.line_text("Horaires : " + " ; ".join(place["hours"]), size=8.5, indent=3)
    pdf.ln(2)
    pdf.line_text(
        "Informations indicatives, tirées de la base d'Aiguillage : l'organisme qui gère chaque aide décide.",
        size=8,
    )
    return bytes(pdf.output())
