"""Campaign files, schedules across DST and holidays, the dispatcher, and the holdout draw."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, update

from outreach.campaigns.dispatcher import due_work
from outreach.campaigns.library import CampaignErrors, load_campaigns
from outreach.campaigns.schedule import fire_times, upcoming_runs, wave_of
from outreach.clock import PARIS
from outreach.delivery import pipeline
from outreach.models import CampaignRun
from outreach.vocabulary import JOURNEYS

GOOD = """\
name: {name}
description: Relevé de carrière à 35 ans
journey: follow_career
segment: career_statement_35
schedule:
  cron: "{cron}"
steps:
  - name: first_contact
    channels: [email, letter]
    template: career_statement_35
  - name: reminder
    after: first_contact
    wait: 7d
    unless: [opened]
    channels: [sms]
    template: career_statement_35
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_campaigns_cover_every_journey_of_the_seed() -> None:
    library = load_campaigns()
    assert {c.journey for c in library.campaigns.values()} == set(JOURNEYS)
    for campaign in library.campaigns.values():
        for step in campaign.steps:
            spec = library.step_spec(campaign, step)
            assert spec.arms[0].template_for(step.channels[0], "fragile").endswith("_fragile")


@pytest.mark.parametrize(
    ("change", "line", "message"),
    [
        (("journey: follow_career", "journey: suivre_carriere"), 3, "journey: Input should be"),
        (('cron: "0 9 2 * *"', 'cron: "tous les mois"'), 6, "is not a cron expression"),
        (("    unless: [opened]", "    unless: [opened]\n    colour: blue"), 15, "unknown setting"),
        (("    wait: 7d\n", ""), 11, "needs both 'after'"),
        (("    wait: 7d", "    wait: une semaine"), 13, "is not a duration"),
        (("segment: career_statement_35", "segment: trentenaires"), 4, "unknown segment 'trentenaires'"),
        (("    template: career_statement_35\n  - name", "    template: relevé\n  - name"), 10, "template"),
        (("    after: first_contact", "    after: welcome"), 12, "not an earlier step"),
        (("name: reminder", "name: first_contact"), 11, "two steps are named"),
        (("name: c1", "name: c2"), 1, "must be the file name"),
        (("steps:", "steps:\n  - [broken"), 9, "not valid YAML"),
    ],
)
def test_a_wrong_campaign_file_names_the_file_line_and_fix(
    tmp_path: Path, change: tuple[str, str], line: int, message: str
) -> None:
    text = GOOD.format(name="c1", cron="0 9 2 * *").replace(*change)
    write(tmp_path / "campaigns", "c1", text)
    with pytest.raises(CampaignErrors) as error:
        load_campaigns(tmp_path / "campaigns")
    reported = str(error.value)
    assert "c1.yaml" in reported and message in reported
    assert re.search(rf"line {line}\b", reported), reported


def test_every_problem_of_every_file_is_reported_at_once(tmp_path: Path) -> None:
    write(tmp_path / "campaigns", "c1", GOOD.format(name="c1", cron="nope"))
    write(tmp_path / "campaigns", "c2", GOOD.format(name="c2", cron="0 9 * * *").replace("7d", "sept"))
    with pytest.raises(CampaignErrors) as error:
        load_campaigns(tmp_path / "campaigns")
    assert "c1.yaml" in str(error.value) and "c2.yaml" in str(error.value)


def test_the_autumn_clock_change_fires_twice_but_is_one_wave() -> None:
    fires = list(
        fire_times(
            "30 2 * * *", datetime(2026, 10, 24, 12, tzinfo=PARIS), datetime(2026, 10, 26, tzinfo=PARIS)
        )
    )
    assert [f.isoformat() for f in fires] == ["2026-10-25T02:30:00+02:00", "2026-10-25T02:30:00+01:00"]
    assert {wave_of(f) for f in fires} == {"2026-10-25"}  # a rerun of the same wave sends nothing new


def test_the_spring_clock_change_moves_the_run_to_3_oclock() -> None:
    fires = list(
        fire_times("30 2 * * *", datetime(2027, 3, 27, 12, tzinfo=PARIS), datetime(2027, 3, 29, tzinfo=PARIS))
    )
    assert [f.isoformat() for f in fires] == ["2027-03-28T03:00:00+02:00"]


def test_upcoming_runs_mark_holidays_and_closed_windows(tmp_path: Path) -> None:
    write(
        tmp_path / "campaigns",
        "c1",
        GOOD.format(name="c1", cron="0 10 * * *").replace("[email, letter]", "[sms]"),
    )
    campaign = load_campaigns(tmp_path / "campaigns").get("c1")
    runs = upcoming_runs(campaign, datetime(2026, 12, 23, 12, tzinfo=PARIS), count=5)
    by_day = {run.wave: run for run in runs}
    assert by_day["2026-12-25"].holiday == "Noël"
    assert by_day["2026-12-25"].closed_channels == ("sms",)
    assert by_day["2026-12-24"].closed_channels == ()
    assert by_day["2026-12-26"].closed_channels == ("sms",)  # a Saturday


def test_the_dispatcher_runs_what_is_due_once(engine: Engine, tmp_path: Path) -> None:
    write(tmp_path / "campaigns", "c1", GOOD.format(name="c1", cron="0 9 * * *"))
    library = load_campaigns(tmp_path / "campaigns")
    morning = datetime(2026, 11, 26, 9, 5, tzinfo=PARIS)

    due = due_work(engine, library, morning)
    assert [(w.campaign, w.step, w.wave) for w in due] == [("c1", "first_contact", "2026-11-26")]
    before_nine = due_work(engine, library, datetime(2026, 11, 26, 8, 55, tzinfo=PARIS))
    assert [w.wave for w in before_nine] == ["2026-11-25"]  # yesterday's missed run is caught up

    run_id = pipeline.open_run(engine, "c1", "2026-11-26", date(2026, 11, 26))
    with engine.begin() as connection:
        connection.execute(update(CampaignRun).where(CampaignRun.id == run_id).values(status="done"))
    later = due_work(engine, library, datetime(2026, 11, 26, 9, 30, tzinfo=PARIS))
    assert [(w.campaign, w.step, w.wave) for w in later] == [("c1", "reminder", "2026-11-26")]


def test_the_holdout_is_reproducible_and_about_its_share() -> None:
    library = load_campaigns()
    campaign = library.get("career_statement_35")
    first = library.step_spec(campaign, campaign.steps[0])
    again = load_campaigns().step_spec(campaign, campaign.steps[0])
    ids = [f"1{n:012d}" for n in range(20_000)]
    drawn = {i for i in ids if first.in_holdout(i)}
    assert drawn == {i for i in ids if again.in_holdout(i)}
    assert 0.09 < len(drawn) / len(ids) < 0.11
    reminder = library.step_spec(campaign, campaign.steps[1])
    assert drawn == {i for i in ids if reminder.in_holdout(i)}  # the same control group at every step
