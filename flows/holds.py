"""Systemic failures: stop at once, tell the operator in one French line, hold the wave until fixed.

A broken template (`StepHalted`, `TemplateError`) or a wrong configuration file (`ConfigurationError`)
fails the same way on every attempt: retrying it only delays the failure by minutes and lets the next
dispatcher run start on top. Such a failure is therefore not retried (`transient_only`), and the wave's
step is *held*: an audit entry `campaign_held` records what failed and a fingerprint of the files the
step depends on (its campaign file and the templates). The dispatcher skips a held step, and says so in
its log and artifact, until those files change — then the next dispatch tries again.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import Engine

from outreach import audit
from outreach.campaigns.library import DEFAULT_DIRECTORY, CampaignLibrary
from outreach.delivery.pipeline import StepHalted
from outreach.errors import ConfigurationError, OutreachError
from outreach.rendering.errors import TemplateError

SYSTEMIC: tuple[type[Exception], ...] = (StepHalted, TemplateError, ConfigurationError)
"""Failures that repeat identically until a person fixes a file: never worth a retry."""

HELD = "campaign_held"
"""The audit action that holds a step of a wave."""


class StepStopped(OutreachError):
    """A step stopped on a systemic failure; the message is the operator's one French line."""


def is_systemic(exc: BaseException | None) -> bool:
    """Whether `exc` (or what it wraps) will fail again the same way until someone fixes a file."""
    return isinstance(exc, (*SYSTEMIC, StepStopped))


def transient_only(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect `retry_condition_fn`: retry a failed task run unless its failure is systemic.

    Network faults, a database restart or a provider outage keep their retries.
    """
    return not is_systemic(state.data if isinstance(state.data, BaseException) else None)


def operator_line(exc: BaseException, campaign: str, step: str, wave: str) -> str:
    """One French line for the operator: what is wrong, where, and what to do."""
    detail = str(exc.__cause__ or exc).removeprefix(
        "template problem, step halted and its messages kept queued: "
    )
    where = f"campagne {campaign}, étape {step}, vague {wave}"
    if isinstance(exc, (StepHalted, TemplateError)):
        what = f"un modèle de message est en erreur ({detail})"
        fix = "corrigez le modèle (`outreach templates lint`)"
    else:
        what = f"la configuration est en erreur ({detail})"
        fix = "corrigez le fichier indiqué"
    return (
        f"Envoi arrêté, {where} : {what}. Rien d'autre n'est parti, les messages restent en file et "
        f"l'étape est suspendue ; {fix} : le répartiteur la reprendra dès que les fichiers auront changé."
    )


def fingerprint(library: CampaignLibrary, campaign: str) -> str:
    """A digest of the files a campaign's steps depend on: its campaign file and every template."""
    digest = hashlib.sha256()
    campaign_file = DEFAULT_DIRECTORY / f"{campaign}.yaml"
    templates = library.renderer.root
    files = [campaign_file, *sorted(p for p in templates.rglob("*") if p.is_file())]
    for path in files:
        digest.update(str(path.relative_to(path.anchor)).encode())
        digest.update(path.read_bytes() if path.is_file() else b"")
    return digest.hexdigest()


def _target(campaign: str, step: str, wave: str) -> str:
    return f"{campaign}/{step}/{wave}"


def hold(engine: Engine, library: CampaignLibrary, campaign: str, step: str, wave: str, line: str) -> None:
    """Record that the step of this wave is held until its files change (an audit entry, visible with
    `outreach audit --action campaign_held`)."""
    with engine.begin() as connection:
        audit.record(
            connection,
            HELD,
            _target(campaign, step, wave),
            None,
            {
                "campaign": campaign,
                "step": step,
                "wave": wave,
                "reason": line,
                "files": fingerprint(library, campaign),
            },
        )


def held_reason(engine: Engine, library: CampaignLibrary, campaign: str, step: str, wave: str) -> str | None:
    """Why this step of this wave is held, or None if it is not (never held, or its files changed)."""
    with engine.connect() as connection:
        last = audit.latest(connection, HELD, _target(campaign, step, wave))
    if last is None:
        return None
    details = json.loads(last.details)
    return details["reason"] if details.get("files") == fingerprint(library, campaign) else None
