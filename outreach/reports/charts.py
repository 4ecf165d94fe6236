"""Charts as PNG bytes, drawn with matplotlib's Agg renderer (no display, safe in workers and CI).

`Figure` objects are used directly rather than `pyplot`: no global state, nothing to close, and the
PNG is rendered by Agg whatever backend the process has configured.

Each function returns a `Chart`: the image and a French alternative text that says what the chart
shows in words, for screen readers and for mail clients that block images. The HTML report also
prints every chart's figures as a table.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from matplotlib.figure import Figure

from outreach.reports.labels import CHANNELS, MEASURES, OUTCOMES, label
from outreach.reports.model import CampaignReport

FUNNEL_STAGES = ("targeted", "sent", "delivered", "opened", "clicked", "responded")
COLOURS = ("#004a99", "#2f6fb3", "#5c93c9", "#8bb6dd", "#b9d6ef", "#e3effa")


@dataclass(frozen=True)
class Chart:
    """One chart: a title, its PNG image and its alternative text."""

    key: str
    title: str
    png: bytes
    alt: str


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return buffer.getvalue()


def _number(value: float) -> str:
    return f"{value:,.0f}".replace(",", " ")


def funnel_chart(report: CampaignReport) -> Chart:
    totals = report.totals()
    values = [totals[stage] for stage in FUNNEL_STAGES]
    names = [MEASURES[stage] for stage in FUNNEL_STAGES]
    figure = Figure(figsize=(7, 3.2))
    axes = figure.subplots()
    bars = axes.barh(names[::-1], values[::-1], color=COLOURS[::-1])
    axes.bar_label(bars, labels=[_number(v) for v in values[::-1]], padding=3)
    axes.set_xlabel("Messages")
    axes.set_title("Entonnoir de la campagne (toutes étapes)")
    axes.spines[["top", "right"]].set_visible(False)
    alt = "Entonnoir : " + ", ".join(f"{n.lower()} {_number(v)}" for n, v in zip(names, values, strict=True))
    return Chart("funnel", "Entonnoir", _png(figure), alt)


def engagement_chart(report: CampaignReport) -> Chart:
    days = [d.day for d in report.engagement]
    figure = Figure(figsize=(7, 3.2))
    axes = figure.subplots()
    for measure, style in (("delivered", "-"), ("opened", "--"), ("clicked", "-."), ("responded", ":")):
        axes.plot(days, [getattr(d, measure) for d in report.engagement], style, label=MEASURES[measure])
    axes.set_ylabel("Messages (première fois)")
    axes.set_title("Engagement jour par jour")
    axes.legend(frameon=False)
    if len(days) > 8:
        axes.set_xticks(days[:: max(1, len(days) // 8)])
    axes.tick_params(axis="x", labelrotation=45)
    axes.spines[["top", "right"]].set_visible(False)
    if days:
        peak = max(report.engagement, key=lambda d: d.clicked)
        alt = (
            f"Engagement du {days[0]} au {days[-1]} : {len(days)} jours ; "
            f"le plus de clics le {peak.day} ({_number(peak.clicked)})."
        )
    else:
        alt = "Aucun engagement enregistré."
    return Chart("engagement", "Engagement dans le temps", _png(figure), alt)


def channel_mix_chart(report: CampaignReport) -> Chart:
    sent: dict[str, int] = {}
    for row in report.funnel:
        if row.counts["sent"]:
            sent[row.group] = sent.get(row.group, 0) + row.counts["sent"]
    names = [label(CHANNELS, c) for c in sent]
    figure = Figure(figsize=(5, 3))
    axes = figure.subplots()
    bars = axes.bar(names, list(sent.values()), color=COLOURS[: len(sent)])
    axes.bar_label(bars, labels=[_number(v) for v in sent.values()], padding=2)
    axes.set_ylabel("Messages envoyés")
    axes.set_title("Répartition par canal")
    axes.spines[["top", "right"]].set_visible(False)
    total = sum(sent.values()) or 1
    alt = "Messages envoyés par canal : " + (
        ", ".join(
            f"{n} {_number(v)} ({100 * v / total:.0f} %)" for n, v in zip(names, sent.values(), strict=True)
        )
        or "aucun"
    )
    return Chart("channels", "Canaux", _png(figure), alt)


def uplift_chart(report: CampaignReport) -> Chart | None:
    """Contacted − holdout per outcome, in points, with its 95 % interval (None without holdout)."""
    if not report.uplift:
        return None
    names = [label(OUTCOMES, c.measure) for c in report.uplift]
    points = [100 * c.difference for c in report.uplift]
    errors = [
        [100 * (c.difference - c.low) for c in report.uplift],
        [100 * (c.high - c.difference) for c in report.uplift],
    ]
    figure = Figure(figsize=(7, 0.8 + 0.6 * len(names)))
    axes = figure.subplots()
    axes.errorbar(points, names, xerr=errors, fmt="o", color=COLOURS[0], capsize=4)
    axes.axvline(0, color="#888888", linewidth=1)
    axes.set_xlabel("Écart de taux contactés − groupe témoin (points de %), intervalle à 95 %")
    axes.set_title("Effet de la campagne")
    axes.spines[["top", "right"]].set_visible(False)
    alt = "Effet de la campagne : " + "; ".join(
        f"{label(OUTCOMES, c.measure)} {100 * c.difference:+.1f} points "
        f"(intervalle {100 * c.low:+.1f} à {100 * c.high:+.1f})"
        for c in report.uplift
    )
    return Chart("uplift", "Effet mesuré (uplift)", _png(figure), alt)


def all_charts(report: CampaignReport) -> list[Chart]:
    """Every chart the report can draw from its data."""
    charts = [funnel_chart(report), engagement_chart(report), channel_mix_chart(report)]
    uplift = uplift_chart(report)
    return [*charts, uplift] if uplift else charts
