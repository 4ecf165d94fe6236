"""Campaign flows: run one step (with dry run and approval), dispatch what is due, refresh segments.

Each flow is a thin order of tasks over `outreach.campaigns.runner`; each task works on a batch
(thousands of messages), never on one person. Sending is split into chunks that any number of task
workers can take (`outreach worker`), and every chunk is safe to retry: it only claims queued messages.
Artifacts tell the operator what happened: a summary table, a progress bar while sending, and where
the previews of a dry run are. Logs carry counts and ids, never a name, an address or a number.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from functools import cache
from typing import Annotated, Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import get_client
from prefect.concurrency.sync import rate_limit
from prefect.deployments import run_deployment
from prefect.exceptions import ObjectNotFound
from prefect.flow_runs import pause_flow_run
from prefect.input import RunInput
from prefect.runtime import flow_run
from pydantic import Field

from flows.holds import SYSTEMIC, StepStopped, held_reason, hold, operator_line, transient_only
from flows.runtime import runtime
from flows.waiting import waiting_sentences, window_openings
from outreach.campaigns.dispatcher import due_work
from outreach.campaigns.runner import StepReport
from outreach.clock import PARIS, today_paris
from outreach.delivery.pipeline import SendSummary
from outreach.segments.history import last_refresh, refresh

CHUNK = 10_000
"""Messages per send task. A task costs the flow 50-100 ms of bookkeeping with the Prefect server
(measured with a temporary server on this project's 2-core machine), and a chunk of 10,000 takes
seconds to send, so orchestration stays a few percent; a 100,000-person step is still ten chunks to
spread over the workers, and a retried chunk resends nothing (it claims only what is still queued)."""


class Approval(RunInput):
    """What the operator answers after reading the dry-run summary."""

    approve: bool = Field(description="Envoyer cette campagne maintenant ?")
    comment: str = Field(default="", description="Commentaire (facultatif)")


@cache
def _limit_exists(name: str) -> bool:
    """Whether the global limit `name` exists on the Prefect server (asked once per process)."""
    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            return False
    return True


def _provider_slots(channel: str, size: int) -> None:
    """Take `size` slots of the provider's global rate limit (`provider-email`, `provider-sms`).

    The limits are created by `outreach serve`; where they do not exist (tests, the demo's temporary
    server) nothing waits.
    """
    name = f"provider-{channel}"
    if channel != "letter" and _limit_exists(name):
        rate_limit(name, occupy=size, strict=True)


def _artifact_key(*parts: str) -> str:
    return "-".join(parts).replace("_", "-").lower()[:100]


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=10, retry_condition_fn=transient_only)
def prepare_step(
    campaign: str, step: str, as_of: date, wave: str, dry_run: bool, now: datetime | None = None
) -> dict[str, Any]:
    """Plan the audience and decide channels (set-based SQL; nothing is sent)."""
    prepared = runtime().runner().prepare(campaign, step, as_of, wave=wave, dry_run=dry_run, now=now)
    report = prepared.report
    get_run_logger().info(
        "run %s, step %s: %s new in the audience; decisions %s",
        report.run_id,
        step,
        report.new_in_audience,
        dict(report.decisions),
    )
    return {"run_id": report.run_id, "decisions": dict(report.decisions)}


@task(cache_policy=NO_CACHE, retries=3, retry_delay_seconds=[10, 60, 300], retry_condition_fn=transient_only)
def send_chunk(
    campaign: str, step: str, as_of: date, wave: str, size: int, now: datetime | None = None
) -> dict[str, Any]:
    """Send up to `size` queued messages of the step; returns counts by outcome.

    Retrying is safe: a retry claims only what is still queued, and settles what a crash left in doubt.
    Only transient faults are retried; a broken template fails the chunk at once (`flows.holds`).
    `opens` carries, for each channel whose window is closed, when it opens (ISO 8601).
    """
    worker = f"{flow_run.get_id() or 'local'}"
    runner = runtime().runner(worker=worker)
    prepared = runner.resume(campaign, step, as_of, wave=wave, now=now)
    summary = runner.send(prepared, limit=size, before_send=_provider_slots)
    outcomes: Counter[str] = Counter()
    for (outcome, _channel), count in summary.outcomes.items():
        outcomes[outcome] += count
    return {**outcomes, "opens": {channel: at.isoformat() for channel, at in summary.waiting.items()}}


@task(cache_policy=NO_CACHE)
def rehearse_step(
    campaign: str, step: str, as_of: date, wave: str, now: datetime | None = None
) -> StepReport:
    """Render every decided message of a dry run and write previews; send nothing."""
    runner = runtime().runner()
    prepared = runner.resume(campaign, step, as_of, wave=wave, dry_run=True, now=now)
    runner.rehearse(prepared)
    return runner.finish(prepared)


@task(cache_policy=NO_CACHE)
def finish_step(campaign: str, step: str, as_of: date, wave: str, dry_run: bool) -> StepReport:
    """Count what the step did (and close the wave when its first step is done)."""
    runner = runtime().runner()
    return runner.finish(runner.resume(campaign, step, as_of, wave=wave, dry_run=dry_run))


def _summary_rows(report: StepReport) -> list[dict[str, Any]]:
    return [
        {"statut": status, "canal": channel or "-", "motif": reason or "-", "personnes": count}
        for (status, channel, reason), count in sorted(report.counts.items(), key=lambda kv: -kv[1])
    ]


def _queued(report: StepReport) -> int:
    return report.by_status()["queued"]


@flow(name="run-campaign", log_prints=False)
def run_campaign(
    campaign: str,
    step: str | None = None,
    as_of: date | None = None,
    dry_run: bool = True,
    limit: Annotated[int | None, Field(ge=1, description="Envoyer au plus ce nombre de messages")] = None,
    wave: str | None = None,
    require_approval: bool = False,
    parallel: Annotated[int, Field(ge=1, le=32, description="Tâches d'envoi en parallèle")] = 1,
    on_task_workers: bool = False,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Run one step of a campaign: audience, decisions, then a dry run or the sending itself.

    Dry run by default: it renders everything and writes previews, and sends nothing. With
    `require_approval`, the flow pauses after the decisions until an operator approves in the UI.
    With `on_task_workers`, send chunks go to the task workers (`outreach worker`, any number, on any
    machine that reaches the database) instead of this process. `now` (UTC) replaces the clock, for
    simulations of a journey over days; leave it empty.

    A systemic failure (a broken template, a wrong file) is not retried: the run fails at once with
    one French line saying what to fix, and the step of this wave is held until its files change.
    """
    library = runtime().library
    step = step or library.get(campaign).steps[0].name
    as_of = as_of or today_paris()
    wave = wave or as_of.isoformat()
    try:
        return _run_step(
            campaign, step, as_of, wave, dry_run, limit, require_approval, parallel, on_task_workers, now
        )
    except SYSTEMIC as exc:
        line = operator_line(exc, campaign, step, wave)
        get_run_logger().error(line)
        if not dry_run:
            hold(runtime().engine, library, campaign, step, wave, line)
        create_markdown_artifact(
            key=_artifact_key(campaign, step, "stopped"),
            markdown=f"## Envoi arrêté\n\n{line}\n",
            description="Étape arrêtée : un fichier est à corriger",
        )
        raise StepStopped(line) from exc


def _run_step(
    campaign: str,
    step: str,
    as_of: date,
    wave: str,
    dry_run: bool,
    limit: int | None,
    require_approval: bool,
    parallel: int,
    on_task_workers: bool,
    now: datetime | None,
) -> dict[str, Any]:
    """The body of `run_campaign`, once its step, date and wave are resolved."""
    logger = get_run_logger()
    key = _artifact_key(campaign, step, "dry-run" if dry_run else "run")

    prepared = prepare_step(campaign, step, as_of, wave, dry_run, now)
    if dry_run:
        report = rehearse_step(campaign, step, as_of, wave, now)
        create_markdown_artifact(
            key=f"{key}-previews",
            markdown="## Aperçus\n\n" + "\n".join(f"- `{path}`" for path in report.previews),
            description="Aperçus des messages de la répétition (rien n'a été envoyé)",
        )
        create_table_artifact(
            key=f"{key}-summary", table=_summary_rows(report), description="Répétition : décisions"
        )
        logger.info("dry run of %s/%s: %s", campaign, step, dict(report.by_status()))
        return {"run_id": report.run_id, "statuses": dict(report.by_status()), "dry_run": True}

    if require_approval:
        before = finish_step(campaign, step, as_of, wave, False)
        create_table_artifact(key=f"{key}-to-approve", table=_summary_rows(before), description="À valider")
        answer = pause_flow_run(
            wait_for_input=Approval.with_initial_data(
                description=f"{_queued(before)} messages prêts pour {campaign} / {step}. Envoyer ?",
                approve=False,
            ),
            timeout=24 * 3600,
        )
        if not answer.approve:
            runtime().runner().cancel_queued(campaign, step, as_of, wave)
            logger.info(
                "run %s not approved: its queued messages are cancelled (reason not_approved); "
                "to send after a fix, run the step again with a new wave",
                prepared["run_id"],
            )
            return {"run_id": prepared["run_id"], "approved": False}

    total = max(_queued(finish_step(campaign, step, as_of, wave, False)), 1)
    progress = create_progress_artifact(0.0, key=f"{key}-progress", description="Envoi en cours")
    done = 0
    budget = limit
    openings: dict[str, datetime] = {}
    while budget is None or budget > 0:
        sizes = [min(CHUNK, budget) if budget else CHUNK for _ in range(parallel)]
        submit = send_chunk.delay if on_task_workers else send_chunk.submit
        futures = [submit(campaign, step, as_of, wave, size, now) for size in sizes]
        outcomes = [future.result() for future in futures]
        for outcome in outcomes:
            openings.update({c: datetime.fromisoformat(t) for c, t in outcome.pop("opens", {}).items()})
        handled = sum(o.get(k, 0) for o in outcomes for k in ("sent", "failed", "ambiguous"))
        done += handled
        update_progress_artifact(progress, min(100.0, 100.0 * done / total))
        if budget is not None:
            budget -= handled
        if handled == 0:
            break
    report = finish_step(campaign, step, as_of, wave, False)
    if report.sending is None:  # the chunks' reports stay in their tasks: carry what they saw closed
        report.sending = SendSummary(waiting=openings)
    resume_at = None if limit is not None else min(window_openings(report).values(), default=None)
    resumed = resume_at is not None and _schedule_resume(
        campaign, step, as_of, wave, resume_at, parallel, on_task_workers, now is not None
    )
    sentences = waiting_sentences(report, limit, resumed)
    final = "Envoi terminé" + (" pour l'instant : " + " ; ".join(sentences) if sentences else "")
    update_progress_artifact(progress, 100.0, description=final)
    create_table_artifact(
        key=f"{key}-summary",
        table=_summary_rows(report),
        description="Bilan de l'étape : " + (" ; ".join(sentences) if sentences else "plus rien n'attend"),
    )
    statuses = dict(report.by_status())
    logger.info("run %s of %s/%s: %s", report.run_id, campaign, step, statuses)
    for line in report.waiting_lines():
        logger.info("run %s still waiting: %s", report.run_id, line)
    return {"run_id": report.run_id, "statuses": statuses, "dry_run": False, "waiting": sentences}


RESUME_DEPLOYMENT = "run-campaign/manuel"
"""The deployment a run schedules to send, when a window opens, what waited for it."""


def _schedule_resume(
    campaign: str,
    step: str,
    as_of: date,
    wave: str,
    at: datetime,
    parallel: int,
    on_task_workers: bool,
    simulated: bool,
) -> bool:
    """Schedule a run of the same step and wave when the first closed window opens, visible in the UI.

    Only a run that sent everything it could does this: a `limit` trial is never resumed by itself, and a
    refused approval leaves nothing queued. One resume per wave, step and opening (idempotency key), however
    many runs (the dispatcher's every 5 minutes) see the same closed window. A simulation (`now` given)
    resumes on the simulated clock, at the opening. False if there is no deployment to schedule.
    """
    logger = get_run_logger()
    parameters: dict[str, Any] = {
        "campaign": campaign,
        "step": step,
        "as_of": as_of.isoformat(),
        "wave": wave,
        "dry_run": False,
        "parallel": parallel,
        "on_task_workers": on_task_workers,
    }
    if simulated:
        parameters["now"] = at.isoformat()
    try:
        resumed = run_deployment(
            RESUME_DEPLOYMENT,
            parameters=parameters,
            scheduled_time=at,
            timeout=0,
            as_subflow=False,
            tags=["reprise"],
            flow_run_name=f"reprise-{campaign}-{step}-{at.astimezone(PARIS):%Y%m%d-%H%M}".replace("_", "-"),
            idempotency_key=f"resume/{campaign}/{step}/{wave}/{at.isoformat()}",
        )
    except ObjectNotFound:
        logger.warning(
            "no deployment %s to resume %s/%s wave %s at %s: run the step again then",
            RESUME_DEPLOYMENT,
            campaign,
            step,
            wave,
            at.isoformat(),
        )
        return False
    logger.info("resume of %s/%s wave %s scheduled at %s (flow run %s)", campaign, step, wave, at, resumed.id)
    return True


@flow(name="dispatch-due-campaigns")
def dispatch_due_campaigns(now: datetime | None = None) -> list[dict[str, Any]]:
    """Run every step that is due: scheduled first steps, and follow-ups whose wait is over.

    A step held by a systemic failure is skipped (and listed) until its files change. A step that fails
    does not stop the others; the dispatcher run then fails, naming them.
    """
    logger = get_run_logger()
    moment = (now or datetime.now(PARIS)).astimezone(PARIS)
    engine, library = runtime().engine, runtime().library
    results: list[dict[str, Any]] = []
    failures = []
    for item in due_work(engine, library, moment):
        where = {"campaign": item.campaign, "step": item.step, "wave": item.wave}
        reason = held_reason(engine, library, item.campaign, item.step, item.wave)
        if reason is not None:
            logger.warning("skipped, held until its files change: %s", reason)
            results.append({**where, "held": reason})
            continue
        state = run_campaign(
            item.campaign, item.step, item.as_of, dry_run=False, wave=item.wave, now=now, return_state=True
        )
        if state.is_failed():
            failures.append(f"{item.campaign}/{item.step}/{item.wave}")
            results.append({**where, "failed": state.message or ""})
            continue
        results.append({**where, **state.result()})
    if results:
        create_table_artifact(
            key="dispatch-summary",
            table=[{k: v for k, v in r.items() if k not in ("statuses", "waiting")} for r in results],
            description="Étapes lancées",
        )
    if failures:
        raise StepStopped(f"étapes en échec : {', '.join(failures)} (le détail est dans leur exécution)")
    return results


@flow(name="refresh-segments")
def refresh_segments(as_of: date | None = None) -> dict[str, dict[str, int]]:
    """Refresh every segment of the library as of a date: who entered, who left."""
    as_of = as_of or today_paris()
    engine, segments = runtime().engine, runtime().library.segments
    counts = {}
    for name in segments.names:
        with engine.begin() as connection:
            latest = last_refresh(connection, name)
            if latest is not None and latest.as_of >= as_of:
                continue  # already refreshed as of that date or later: history only moves forward
            result = refresh(connection, segments, name, as_of)
        counts[name] = {"members": result.members, "entered": result.entered, "left": result.left}
    create_table_artifact(
        key="segments-refresh",
        table=[{"segment": name, **values} for name, values in counts.items()],
        description=f"Segments au {as_of.isoformat()}",
    )
    return counts
