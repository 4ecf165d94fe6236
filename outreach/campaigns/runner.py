"""One step of one campaign wave, end to end: audience, decisions, rendering, sending, report.

The runner is what the Prefect flows and the CLI call; it holds no Prefect code, so tests exercise it
directly. Running a step again is always safe: the audience is planned with the unique key of the
messages table, decisions only touch planned rows, and sending only claims queued ones.

A dry run goes through the same audience, policy and rendering, on its own run row (which never counts
as contact pressure), writes previews of a few messages per channel, and sends nothing.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, select, update

from outreach import audit
from outreach.campaigns.audience import first_step_audience, follow_up_audience
from outreach.campaigns.library import CampaignLibrary
from outreach.channels.base import Channel, OutgoingMessage
from outreach.clock import utcnow
from outreach.complaints import journey as complaints
from outreach.config import var_dir
from outreach.db import advisory_lock
from outreach.delivery import leases, pipeline
from outreach.delivery.pipeline import ClaimedMessage, SendSummary, StepSpec
from outreach.delivery.policy import PressureLimits
from outreach.models import CampaignRun, Message, Person
from outreach.rendering.context import person_context
from outreach.rendering.errors import RenderError, TemplateError
from outreach.rendering.letter_pdf import LetterBatch
from outreach.rendering.links import Links
from outreach.rendering.renderer import Renderer
from outreach.segments.history import last_refresh, refresh

PEOPLE = Person.__table__
UNSETTLED = ("planned", "queued", "sending", "ambiguous")
"""Statuses of messages whose outcome is still to come."""

LinksFor = Callable[[int], Links]
"""Builds the tracking links of a message from its id (the tracking service's `LinkBuilder`)."""


@dataclass
class StepReport:
    """What a step run did: the raw counts every report and artifact is made from."""

    campaign: str
    step: str
    wave: str
    run_id: int
    dry_run: bool
    new_in_audience: int = 0
    decisions: Counter[str] = field(default_factory=Counter)
    sending: SendSummary | None = None
    render_failures: int = 0
    previews: list[Path] = field(default_factory=list)
    counts: dict[tuple[str, str | None, str | None], int] = field(default_factory=dict)

    def by_status(self) -> Counter[str]:
        totals: Counter[str] = Counter()
        for (status, _, _), count in self.counts.items():
            totals[status] += count
        return totals

    def waiting(self) -> Counter[str]:
        """Messages not settled yet, by status: their step (and a first step's wave) is not done."""
        statuses = self.by_status()
        return Counter({status: statuses[status] for status in UNSETTLED if statuses[status]})

    def waiting_lines(self) -> list[str]:
        """What still waits and why, one line each, for the operator (counts only, no person)."""
        waiting, sending = self.waiting(), self.sending
        lines = []
        if waiting["queued"]:
            opens = sending.waiting if sending else {}
            reasons = [f"{channel} window opens {moment:%Y-%m-%d %H:%M}" for channel, moment in opens.items()]
            if sending and sending.exhausted:
                reasons.append(f"{sending.exhausted} after repeated provider faults")
            lines.append(f"{waiting['queued']} queued ({', '.join(reasons) or 'to send at the next run'})")
        if waiting["planned"]:
            lines.append(f"{waiting['planned']} planned (no decision yet: the next run decides)")
        if waiting["sending"]:
            lines.append(f"{waiting['sending']} sending (claimed by a worker still running)")
        if waiting["ambiguous"]:
            lines.append(
                f"{waiting['ambiguous']} ambiguous (the provider could not say yet whether it received "
                "them: the next run asks again, nothing is resent blindly)"
            )
        return lines


class Composer:
    """Renders claimed messages: the template context of the person, with the message's links."""

    def __init__(
        self, renderer: Renderer, as_of: date, links_for: LinksFor | None, categories: tuple[str, ...]
    ) -> None:
        self.renderer = renderer
        self.as_of = as_of
        self.links_for = links_for
        self.categories = categories
        self.extra: dict[str, dict[str, Any]] = {}
        """The `extra` template values of each message of the step, by person (one message each)."""

    def __call__(self, message: ClaimedMessage, person: Mapping[str, Any]) -> OutgoingMessage:
        reference = f"CO-{message.key}"
        links = self.links_for(message.id) if self.links_for else Links.placeholders(reference)
        context = person_context(
            person,
            as_of=self.as_of,
            links=links,
            reference=reference,
            extra=self.extra.get(message.person_id),
        )
        common = {"message_key": message.key, "person_id": message.person_id, "channel": message.channel}
        if message.channel == "email":
            email = self.renderer.email(message.template, context)
            return OutgoingMessage(
                **common,
                to=person["email"],
                body=email.text,
                subject=email.subject,
                html=email.html,
                categories=self.categories,
                body_form=email.text_form,
                html_form=email.html_form,
                headers=email.headers,
            )
        if message.channel == "sms":
            sms = self.renderer.sms(message.template, context)
            return OutgoingMessage(**common, to=person["mobile_phone"], body=sms.body)
        return OutgoingMessage(**common, to="", body="", template=message.template, context=context)


@dataclass
class PreparedStep:
    """A step whose audience is planned and decided, ready to be sent (or rehearsed)."""

    spec: StepSpec
    composer: Composer
    report: StepReport
    clock: Callable[[], datetime]
    first_step: bool


def _merge(total: SendSummary | None, more: SendSummary) -> SendSummary:
    if total is None:
        return more
    total.outcomes.update(more.outcomes)
    total.waiting.update(more.waiting)
    total.recovered.update(more.recovered)
    total.exhausted = more.exhausted
    return total


class CampaignRunner:
    """Runs campaign steps against one database with one set of channels."""

    def __init__(
        self,
        engine: Engine,
        library: CampaignLibrary,
        channels: Mapping[str, Channel],
        *,
        links_for: LinksFor | None = None,
        limits: PressureLimits | None = None,
        worker: str = "local",
        previews_dir: Path | None = None,
    ) -> None:
        self.engine = engine
        self.library = library
        self.channels = channels
        self.links_for = links_for
        self.limits = limits or PressureLimits()
        self.worker = worker
        self.previews_dir = previews_dir or var_dir() / "previews"

    def run_step(
        self,
        campaign_name: str,
        step_name: str,
        as_of: date,
        *,
        wave: str | None = None,
        dry_run: bool = False,
        limit: int | None = None,
        now: datetime | None = None,
        on_progress: Callable[[SendSummary], None] | None = None,
        triggered_by: str | None = None,
    ) -> StepReport:
        """Run `step_name` of `campaign_name` for `wave` (default: the as-of date), in one go.

        `now` (naive UTC) fixes the clock of the run — send windows, waits, pressure — for simulations
        and tests; by default it is the real time.
        """
        prepared = self.prepare(
            campaign_name, step_name, as_of, wave=wave, dry_run=dry_run, now=now, triggered_by=triggered_by
        )
        if dry_run:
            self.rehearse(prepared)
        else:
            self.send(prepared, limit=limit, on_progress=on_progress)
        return self.finish(prepared)

    def prepare(
        self,
        campaign_name: str,
        step_name: str,
        as_of: date,
        *,
        wave: str | None = None,
        dry_run: bool = False,
        now: datetime | None = None,
        triggered_by: str | None = None,
    ) -> PreparedStep:
        """Plan the step's audience and decide for each person; nothing is sent yet."""
        prepared = self._open(campaign_name, step_name, as_of, wave, dry_run, now, triggered_by)
        report, spec, campaign = prepared.report, prepared.spec, self.library.get(campaign_name)
        step = campaign.step(step_name)
        if dry_run:
            self._forget_previous_dry_run(report.run_id, step.name)
        with self.engine.begin() as connection:
            if step.after is None:
                advisory_lock(connection, f"segment-refresh:{campaign.segment}")  # workers start together
                latest = last_refresh(connection, campaign.segment)
                if latest is None or latest.as_of < as_of:
                    refresh(connection, self.library.segments, campaign.segment, as_of)
                audience = first_step_audience(connection, campaign, report.run_id, as_of)
            else:
                audience = follow_up_audience(campaign, step, report.run_id, prepared.clock())
        report.new_in_audience = pipeline.plan(self.engine, report.run_id, spec, audience)
        if campaign.journey == "complaint":
            with self.engine.begin() as connection:
                complaints.link_step(connection, campaign, step, report.run_id, as_of)
        report.decisions = pipeline.decide_step(
            self.engine, report.run_id, spec, self.limits, prepared.clock()
        )
        if campaign.journey == "complaint":
            prepared.composer.extra = self._complaint_extra(report.run_id, step.name)
        return prepared

    def resume(
        self,
        campaign_name: str,
        step_name: str,
        as_of: date,
        *,
        wave: str | None = None,
        dry_run: bool = False,
        now: datetime | None = None,
        triggered_by: str | None = None,
    ) -> PreparedStep:
        """A step as another worker prepared it: ready to send its queued messages, nothing re-planned."""
        prepared = self._open(campaign_name, step_name, as_of, wave, dry_run, now, triggered_by)
        if self.library.get(campaign_name).journey == "complaint":
            prepared.composer.extra = self._complaint_extra(prepared.report.run_id, step_name)
        return prepared

    def _open(
        self,
        campaign_name: str,
        step_name: str,
        as_of: date,
        wave: str | None,
        dry_run: bool,
        now: datetime | None,
        triggered_by: str | None,
    ) -> PreparedStep:
        """The run of the wave (created on first use), the step's spec, its clock and its composer."""
        campaign = self.library.get(campaign_name)
        step = campaign.step(step_name)
        spec = self.library.step_spec(campaign, step)
        wave = wave or as_of.isoformat()
        run_id = pipeline.open_run(self.engine, campaign.name, wave, as_of, dry_run, triggered_by)
        report = StepReport(campaign.name, step.name, wave, run_id, dry_run)
        if now is not None and now.tzinfo is not None:
            now = now.astimezone(UTC).replace(tzinfo=None)  # timestamps are stored as naive UTC
        clock = (lambda: now) if now is not None else utcnow
        composer = Composer(self.library.renderer, as_of, self.links_for, (campaign.name, step.name))
        return PreparedStep(spec, composer, report, clock, first_step=step.after is None)

    def send(
        self,
        prepared: PreparedStep,
        *,
        limit: int | None = None,
        on_progress: Callable[[SendSummary], None] | None = None,
        before_send: Callable[[str, int], None] | None = None,
    ) -> SendSummary:
        """Settle what a crash left in doubt, send queued messages (up to `limit`), then settle what
        this call's own timeouts left ambiguous.

        Several calls, in several processes, can send the same step at once: each claims its batches
        under a lease of its own, which ends with the call (or with its process): what a call leaves
        claimed is then recognised at once as nobody's, by the next call that recovers.
        """
        report = prepared.report
        run_id, step = report.run_id, report.step
        with leases.hold(self.engine, self.worker) as lease:
            recovered = pipeline.recover(self.engine, run_id, step, self.channels, lease, prepared.clock())
            summary = pipeline.send_step(
                self.engine,
                run_id,
                prepared.spec,
                self.channels,
                prepared.composer,
                lease.id,
                clock=prepared.clock,
                limit=limit,
                on_progress=on_progress,
                before_send=before_send,
            )
            recovered += pipeline.recover(self.engine, run_id, step, self.channels, lease, prepared.clock())
        summary.recovered = recovered
        report.sending = _merge(report.sending, summary)
        return summary

    def finish(self, prepared: PreparedStep) -> StepReport:
        """Count what the step did; a first step with nothing left to send or to settle closes its wave.

        A wave stays open while any of its messages is planned, queued, `sending` or `ambiguous`: the
        dispatcher comes back for it, and nobody is left in limbo behind a wave marked done.
        """
        report = prepared.report
        report.counts = pipeline.step_counts(self.engine, report.run_id, report.step)
        waiting = sum(report.waiting().values()) if not report.dry_run else 0
        if prepared.first_step and not report.dry_run and not waiting:
            self._finish(report.run_id)
        if report.dry_run or not waiting:
            self._audit(report)
        return report

    def _audit(self, report: StepReport) -> None:
        """One audit entry per step run, with its counts by status: each dry run, and a real run once
        nothing is left to send — again only if its counts changed, since a flow counts a step more
        than once (before sending, after approval, at the end)."""
        action = "dry_run" if report.dry_run else "campaign_run"
        target = f"{report.campaign}/{report.step}/run {report.run_id}"
        statuses = dict(sorted(report.by_status().items()))
        with self.engine.begin() as connection:
            last = audit.latest(connection, action, target)
            if not report.dry_run and last is not None and json.loads(last.details)["statuses"] == statuses:
                return
            details = {"campaign": report.campaign, "step": report.step, "wave": report.wave}
            audit.record(
                connection,
                action,
                target,
                sum(statuses.values()),
                {**details, "run_id": report.run_id, "statuses": statuses},
            )

    def cancel_queued(self, campaign_name: str, step_name: str, as_of: date, wave: str | None = None) -> int:
        """An operator refused the send: queued messages become exclusions, visible in every report, and
        a first step's wave is closed (nothing of it is sent later, by the dispatcher or anyone)."""
        prepared = self.resume(campaign_name, step_name, as_of, wave=wave)
        with self.engine.begin() as connection:
            cancelled = connection.execute(
                update(Message)
                .where(
                    Message.run_id == prepared.report.run_id,
                    Message.step == step_name,
                    Message.status == "queued",
                )
                .values(status="excluded", reason="not_approved")
            ).rowcount
        self.finish(prepared)
        return cancelled

    def _forget_previous_dry_run(self, run_id: int, step: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(delete(Message).where(Message.run_id == run_id, Message.step == step))

    def _finish(self, run_id: int) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                update(CampaignRun)
                .where(CampaignRun.id == run_id)
                .values(status="done", finished_at=utcnow())
            )

    def _complaint_extra(self, run_id: int, step: str) -> dict[str, dict[str, Any]]:
        """The values of the complaint each message of the step carries (linked when it was planned)."""
        with self.engine.connect() as connection:
            return complaints.complaint_extra(connection, run_id, step)

    def rehearse(self, prepared: PreparedStep) -> None:
        """Render every queued message of a dry run (nothing is sent); keep a few as previews."""
        spec, composer, report = prepared.spec, prepared.composer, prepared.report
        run_id = report.run_id
        folder = self.previews_dir / spec.campaign / report.wave / spec.step
        folder.mkdir(parents=True, exist_ok=True)
        per_channel: Counter[str] = Counter()
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(
                    Message.id.label("message_id"), Message.channel, Message.template, Message.variant, PEOPLE
                )
                .join(PEOPLE, PEOPLE.c.person_id == Message.person_id)
                .where(Message.run_id == run_id, Message.step == spec.step, Message.status == "queued")
                .order_by(Message.id)
                .execution_options(yield_per=1000)
            )
            for row in rows.mappings():
                claimed = ClaimedMessage(
                    row["message_id"], row["person_id"], row["channel"], row["template"], row["variant"]
                )
                person = {column.name: row[column.name] for column in PEOPLE.c}
                try:
                    outgoing = composer(claimed, person)
                    if claimed.channel == "letter" and outgoing.context is not None:
                        self.library.renderer.letter(claimed.template, outgoing.context)
                except TemplateError:
                    raise
                except RenderError:
                    report.render_failures += 1
                    continue
                if per_channel[claimed.channel] < 3:
                    per_channel[claimed.channel] += 1
                    report.previews.append(self._write_preview(folder, claimed, outgoing))

    def _write_preview(self, folder: Path, claimed: ClaimedMessage, message: OutgoingMessage) -> Path:
        """Write one message as the person would see it (no names in file names: message ids only)."""
        stem = folder / f"{claimed.channel}-{claimed.key}"
        if claimed.channel == "email":
            path = stem.with_suffix(".html")
            path.write_text(message.html or "", encoding="utf-8")
            stem.with_suffix(".txt").write_text(
                f"Objet : {message.subject}\n\n{message.body}", encoding="utf-8"
            )
        elif claimed.channel == "sms":
            path = stem.with_suffix(".sms.txt")
            path.write_text(message.body, encoding="utf-8")
        else:
            path = stem.with_suffix(".pdf")
            with LetterBatch(path, self.library.renderer) as batch:
                batch.add(claimed.template, message.context or {})
        return path
