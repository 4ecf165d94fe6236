"""What operators see in the Prefect UI: systemic failures fail fast and hold, dispatchers never overlap,
and a run says what still waits. Flows run for real on Prefect's test server, the emulator behind the SDKs.
"""

from __future__ import annotations

import shutil
import threading
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    DeploymentFilter,
    DeploymentFilterName,
    FlowRunFilter,
    FlowRunFilterId,
)
from prefect.client.schemas.objects import StateType
from prefect.states import Cancelled, Pending
from sqlalchemy import Engine, func, select

import flows.campaigns
import flows.runtime
import tests.test_flows as flow_fixtures
from flows.campaigns import dispatch_due_campaigns, run_campaign
from flows.deployments import deployments
from flows.holds import StepStopped
from flows.runtime import runtime
from outreach.campaigns.library import load_campaigns
from outreach.emulator.running import EmulatorHandle
from outreach.models import Message
from outreach.rendering.renderer import Renderer
from outreach.runtime import Runtime, build_runtime
from tests.people import load, person
from tests.test_flows import BORN_NOVEMBER_1991

emulator = flow_fixtures.emulator  # the flows' fixtures: the emulator, and the database behind it
engine = flow_fixtures.engine

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
DISPATCH_DAY = datetime(2026, 12, 2, 9, 30)  # 10:30 Paris, a Wednesday: career_statement_35 fired at 09:00
WAVE = "2026-12-02"
BORN_DECEMBER_1991 = date(1991, 12, 10)  # 35 this month: in the career_statement_35 segment on 2 December


def _flow_run_id(state: Any) -> Any:
    return state.state_details.flow_run_id


@pytest.fixture
def scratch_templates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the templates the flows render from, for a test to break and fix like an editor would."""
    scratch = tmp_path / "templates"
    shutil.copytree(TEMPLATES, scratch)

    def scratch_runtime() -> Runtime:  # read afresh on each call, as after a fix of the files
        built = build_runtime()
        built.library = load_campaigns(renderer=Renderer(scratch))
        return built

    monkeypatch.setattr(flows.campaigns, "runtime", scratch_runtime)
    return scratch


def _run_in_thread(target: Any, seconds: float) -> dict[str, Any]:
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["value"] = target()
        except Exception as exc:
            outcome["error"] = exc

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(timeout=seconds)
    assert not worker.is_alive(), f"still running after {seconds} s (retrying a systemic failure?)"
    return outcome


def test_a_broken_template_fails_once_holds_the_wave_until_fixed(
    prefect_server: None, engine: Engine, emulator: EmulatorHandle, scratch_templates: Path
) -> None:
    load(engine, [person(i, BORN_DECEMBER_1991) for i in range(20)])
    mail = scratch_templates / "mail" / "career_statement_35.html"
    original = mail.read_text(encoding="utf-8")
    mail.write_text(original.replace("</h1>", "</h1>\n<p>{{ variable_inconnue }}</p>"), encoding="utf-8")

    outcome = _run_in_thread(
        lambda: run_campaign(
            "career_statement_35",
            as_of=date(2026, 12, 2),
            dry_run=False,
            wave=WAVE,
            now=DISPATCH_DAY,
            return_state=True,
        ),
        seconds=60,
    )
    state = outcome["value"]
    assert state.is_failed()
    with pytest.raises(StepStopped) as stopped:
        state.result()
    line = str(stopped.value)
    assert line.startswith(
        "Envoi arrêté, campagne career_statement_35, étape first_contact, vague 2026-12-02"
    )
    assert "mail/career_statement_35.html" in line and "outreach templates lint" in line
    with get_client(sync_client=True) as client:
        tasks = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[_flow_run_id(state)]))
        )
    sends = [t for t in tasks if t.name.startswith("send_chunk")]
    assert [t.run_count for t in sends] == [1]  # one attempt: no retry of a systemic failure
    assert emulator.messages() == {"sendgrid": [], "twilio": []}

    held = dispatch_due_campaigns(now=DISPATCH_DAY)
    career = [r for r in held if r["campaign"] == "career_statement_35" and r["step"] == "first_contact"]
    assert [r["held"] for r in career] == [line]  # skipped, with why
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).where(Message.status == "sent")) == 0

    mail.write_text(original, encoding="utf-8")  # fixed: the next dispatch runs the wave again
    fixed = dispatch_due_campaigns(now=DISPATCH_DAY)
    [first] = [r for r in fixed if r["campaign"] == "career_statement_35" and r["step"] == "first_contact"]
    assert first["statuses"]["sent"] > 0 and "held" not in first


def test_two_dispatcher_runs_cannot_overlap(prefect_server: None) -> None:
    dispatcher = next(d for d in deployments(load_campaigns()) if d.name == "toutes-les-5-minutes")
    deployment_id = dispatcher.apply()
    with get_client(sync_client=True) as client:
        first = client.create_flow_run_from_deployment(deployment_id)
        second = client.create_flow_run_from_deployment(deployment_id)
        try:
            assert client.set_flow_run_state(first.id, Pending()).state.type == StateType.PENDING
            refused = client.set_flow_run_state(second.id, Pending())
            assert refused.state.type == StateType.CANCELLED  # the second one never starts
        finally:
            for run in (first, second):
                client.set_flow_run_state(run.id, Cancelled(), force=True)


def test_a_run_outside_the_windows_says_what_waits_and_schedules_the_rest(
    prefect_server: None, engine: Engine, emulator: EmulatorHandle
) -> None:
    for deployment in deployments(runtime().library):
        if deployment.name == "manuel" and deployment.flow_name == "run-campaign":
            deployment.apply()
    load(engine, [person(i, BORN_NOVEMBER_1991) for i in range(30)])
    night = datetime(2026, 11, 26, 0, 55)  # 01:55 Paris, a Thursday: e-mails open 07:00, SMS 08:00

    state = run_campaign(
        "career_statement_35", as_of=date(2026, 11, 26), dry_run=False, now=night, return_state=True
    )
    result = state.result()
    assert result["statuses"]["queued"] > 0 and "sent" not in result["statuses"]
    with get_client(sync_client=True) as client:
        artifacts = {
            a.key: a
            for a in client.read_artifacts(
                artifact_filter=ArtifactFilter(
                    flow_run_id=ArtifactFilterFlowRunId(any_=[_flow_run_id(state)])
                )
            )
        }
        resumes = client.read_flow_runs(
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=["manuel"])),
        )
    summary = artifacts["career-statement-35-first-contact-run-summary"].description
    assert "e-mails attendront jeudi 26 novembre 2026 à 07h00" in summary
    assert "(fenêtre d'envoi fermée) : une reprise est planifiée à l'ouverture" in summary
    progress = artifacts["career-statement-35-first-contact-run-progress"]
    assert float(progress.data) == 100.0 and "attendront" in progress.description
    [resume] = [r for r in resumes if r.name.startswith("reprise-career-statement-35-first-contact")]
    assert resume.expected_start_time == datetime(
        2026, 11, 26, 6, 0, tzinfo=resume.expected_start_time.tzinfo
    )
    assert resume.parameters["wave"] == "2026-11-26" and resume.parameters["dry_run"] is False

    again = run_campaign("career_statement_35", as_of=date(2026, 11, 26), dry_run=False, now=night)
    assert again["statuses"] == result["statuses"]
    with get_client(sync_client=True) as client:
        resumes = client.read_flow_runs(
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=["manuel"]))
        )
    assert len([r for r in resumes if r.name.startswith("reprise-career-statement-35")]) == 1  # one resume


def test_the_forms_speak_french_and_offer_the_campaigns_of_the_files(
    prefect_server: None, engine: Engine
) -> None:
    library = runtime().library
    for deployment in deployments(library):
        deployment.apply()
    with get_client(sync_client=True) as client:
        flows_by_id = {f.id: f.name for f in client.read_flows()}
        listed = {(flows_by_id[d.flow_id], d.name): d for d in client.read_deployments()}
        manual = listed[("run-campaign", "manuel")]
        form = manual.parameter_openapi_schema["properties"]
        assert form["dry_run"]["title"] == "Répétition (rien n'est envoyé)"
        assert all(field["title"] != name and field["description"] for name, field in form.items())
        assert set(form["campaign"]["enum"]) == set(library.campaigns)
        assert "sms_reminder" in form["step"]["anyOf"][0]["enum"]
        assert form["now"]["title"].startswith("Horloge simulée")
        career = listed[("run-campaign", "career-statement-35")].parameter_openapi_schema["properties"]
        assert career["step"]["anyOf"][0]["enum"] == sorted(
            step.name for step in library.get("career_statement_35").steps
        )
        with pytest.raises(
            Exception, match="campagne_inconnue"
        ):  # the server refuses a name not in the files
            client.create_flow_run_from_deployment(manual.id, parameters={"campaign": "campagne_inconnue"})

        assert listed[("purge", "manuel")].parameters == {"dry_run": True}  # a manual purge only counts
        assert listed[("purge", "chaque-nuit")].parameters == {"dry_run": False}
        purge_form = listed[("purge", "manuel")].parameter_openapi_schema["properties"]
        assert purge_form["dry_run"]["title"] == "Purge à blanc (rien n'est supprimé)"


def test_the_flows_runtime_is_rebuilt_when_a_configuration_file_changes(
    flow_database: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`outreach serve` runs for weeks: a template fixed by the communication team must be read again."""
    watched = tmp_path / "home"
    for folder in ("campaigns", "segments", "templates"):
        shutil.copytree(TEMPLATES.parent / folder, watched / folder)
    monkeypatch.setattr(flows.runtime, "PROJECT_ROOT", watched)
    first = runtime()
    assert runtime() is first  # built once while nothing changes
    mail = watched / "templates" / "mail" / "career_statement_35.html"
    mail.write_text(mail.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert runtime() is not first
