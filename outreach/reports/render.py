"""The report as one self-contained HTML file (charts embedded as PNG), or as Markdown.

The HTML has no external resource (no script, font or stylesheet to fetch), so it opens offline and
survives being forwarded by e-mail. Accessibility: `lang="fr"`, every chart has an alternative text
and the same figures as a table next to it, tables have captions and header cells.
"""

from __future__ import annotations

import base64
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from outreach.reports.charts import all_charts
from outreach.reports.labels import BREAKDOWNS, CHANNELS, GROUPS, MEASURES, OUTCOMES, REASONS, label
from outreach.reports.model import CampaignReport, Comparison

NUMBER_MEASURES = ("targeted", "excluded", "deferred", "holdout", "sent", "delivered", "opened", "clicked",
                   "responded", "bounced", "opted_out")  # fmt: skip
"""Funnel columns shown in tables (pending and failed stay in the JSON)."""
TEMPLATES = Path(__file__).with_name("templates")


def number(value: float | None) -> str:
    """French thousands separator (narrow no-break space)."""
    return "—" if value is None else f"{value:,.0f}".replace(",", "\u202f")


def percent(part: float, whole: float) -> str:
    return "—" if not whole else f"{100 * part / whole:.1f} %".replace(".", ",")


def points(value: float) -> str:
    return f"{100 * value:+.1f}".replace(".", ",")


def euros(value: float) -> str:
    return f"{value:,.2f} €".replace(",", "\u202f").replace(".", ",")


def duration(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d}"
    return f"{seconds // 86400} j {seconds % 86400 // 3600} h"


def comparison_text(c: Comparison) -> str:
    verdict = "significatif" if c.significant else "non significatif"
    return f"{points(c.difference)} points [{points(c.low)} ; {points(c.high)}], {verdict}"


def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        keep_trailing_newline=True,
    )
    environment.filters.update(number=number, duration=duration, euros=euros, points=points)
    environment.globals.update(
        percent=percent, label=label, comparison_text=comparison_text, MEASURES=MEASURES, CHANNELS=CHANNELS,
        REASONS=REASONS, OUTCOMES=OUTCOMES, GROUPS=GROUPS, BREAKDOWNS=BREAKDOWNS, COLUMNS=NUMBER_MEASURES,
    )  # fmt: skip
    return environment


PURGED_NOTE = (
    "Le détail des vagues marquées « détail purgé » a été supprimé à la fin de sa durée de conservation : "
    "leurs entonnoirs, motifs et coûts viennent des comptes conservés au moment de la purge."
)
DETAIL_NOTE = (
    "Ne porte que sur les vagues dont le détail est conservé : les vagues purgées n'y figurent pas "
    "(ce calcul demande les messages de chaque personne)."
)


def _context(report: CampaignReport) -> dict[str, object]:
    return {
        "r": report,
        "totals": report.totals(),
        "total_cost": sum(line.total for line in report.costs),
        "purged": any(run.purged for run in report.runs),
        "purged_note": PURGED_NOTE,
        "detail_note": DETAIL_NOTE,
    }


def render_html(report: CampaignReport) -> str:
    """One self-contained HTML page, charts included."""
    charts = [
        {"key": c.key, "title": c.title, "alt": c.alt, "data": base64.b64encode(c.png).decode("ascii")}
        for c in all_charts(report)
    ]
    return _environment().get_template("report.html.j2").render(**_context(report), charts=charts)


def render_markdown(report: CampaignReport) -> str:
    """The summary tables as Markdown (what the Prefect artifact shows)."""
    return _environment().get_template("report.md.j2").render(**_context(report))
