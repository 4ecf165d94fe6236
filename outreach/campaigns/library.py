"""All campaign files, validated together and checked against the segments and templates they name.

Nothing is sent until every campaign file reads cleanly: a typo in one file stops the dispatcher with a
list of every problem (file, line, fix), rather than a campaign failing half-way through a send.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from outreach.campaigns.definition import Campaign, Step, parse_duration
from outreach.complaints.journey import EXTRA_BY_JOURNEY
from outreach.config import PROJECT_ROOT
from outreach.delivery.pipeline import Arm, StepSpec
from outreach.delivery.policy import StepPolicy
from outreach.errors import ConfigurationError
from outreach.rendering.lint import extra_reads
from outreach.rendering.renderer import Renderer
from outreach.segments.definition import Engagement
from outreach.segments.library import SegmentLibrary, load_library, references, walk
from outreach.yamlfiles import ConfigFileError, display_path, load_model

DEFAULT_DIRECTORY = PROJECT_ROOT / "campaigns"


class CampaignErrors(ConfigurationError):
    """Every problem found in the campaign files, one per line."""


@dataclass(frozen=True)
class CampaignLibrary:
    """The validated campaigns, by name, with the segment library they were checked against."""

    campaigns: dict[str, Campaign]
    segments: SegmentLibrary
    renderer: Renderer

    def get(self, name: str) -> Campaign:
        try:
            return self.campaigns[name]
        except KeyError:
            known = ", ".join(sorted(self.campaigns)) or "none"
            raise ConfigurationError(f"no campaign named '{name}' in campaigns/ (known: {known})") from None

    def step_spec(self, campaign: Campaign, step: Step) -> StepSpec:
        """What the delivery pipeline needs to run `step` of `campaign`."""
        variants = step.variants or ()
        arms = tuple(Arm(v.name, v.share, self._templates(step, v.template)) for v in variants) or (
            Arm("main", 1.0, self._templates(step, step.template)),
        )
        gap = parse_duration(campaign.journey_gap) if campaign.journey_gap else None
        follow_up = step.after is not None
        return StepSpec(
            campaign=campaign.name,
            step=step.name,
            journey=campaign.journey,
            policy=StepPolicy(
                channels=tuple(step.channels),
                mandatory=step.mandatory or campaign.pressure_class == "mandatory",
                prefer_letter_for_fragile=step.fragile_gets_letter,
                journey_gap=gap if gap and gap > timedelta(0) else None,
                stop_outcomes=campaign.stop_outcomes if follow_up else frozenset(),
                stop_unless_member_of=(
                    campaign.segment if follow_up and campaign.stops_on_leaving_segment else None
                ),
            ),
            arms=arms,
            holdout_share=campaign.holdout,
        )

    def _templates(self, step: Step, template: str) -> dict[tuple[str, str], str]:
        templates = {}
        for channel in step.channels:
            templates[(channel, "standard")] = template
            fragile = f"{template}_fragile"
            templates[(channel, "fragile")] = fragile if self.renderer.has(channel, fragile) else template
        return templates


def _chain_problems(campaign: Campaign, lines: dict) -> list[tuple[int, str]]:  # type: ignore[type-arg]
    """Steps must have distinct names, and each follow-up must follow an earlier step."""
    problems, seen = [], set()
    for index, step in enumerate(campaign.steps):
        line = lines.get(("steps", index, "after"), lines[("steps", index, "name")])
        if step.name in seen:
            problems.append(
                (lines[("steps", index, "name")], f"two steps are named '{step.name}': rename one")
            )
        if index == 0 and step.after is not None:
            problems.append((line, "the first step reaches the segment: remove its 'after' and 'wait'"))
        if index > 0 and step.after not in seen:
            problems.append(
                (line, f"step '{step.name}' follows '{step.after}', not an earlier step: fix 'after'")
            )
        seen.add(step.name)
    return problems


def load_campaigns(
    directory: Path | None = None, segments: SegmentLibrary | None = None, renderer: Renderer | None = None
) -> CampaignLibrary:
    """Read and check every `campaigns/*.yaml`; raises `CampaignErrors` listing every problem."""
    directory = directory or DEFAULT_DIRECTORY
    segments = segments or load_library()
    renderer = renderer or Renderer()
    if not directory.is_dir():
        raise CampaignErrors(f"{directory}: no such folder (create it, or set OUTREACH_HOME)")
    problems: list[str] = []
    campaigns: dict[str, Campaign] = {}
    for path in sorted(directory.glob("*.yaml")):
        try:
            campaign, lines = load_model(path, Campaign)
        except ConfigFileError as exc:
            problems.extend(exc.problems)
            continue
        where = display_path(path)
        if campaign.name != path.stem:
            problems.append(f"{where}, line {lines[('name',)]}: name must be the file name '{path.stem}'")
        if campaign.segment not in segments.names:
            problems.append(
                f"{where}, line {lines[('segment',)]}: unknown segment '{campaign.segment}' "
                f"(see `outreach segments list`)"
            )
        problems += [f"{where}, line {line}: {problem}" for line, problem in _chain_problems(campaign, lines)]
        for index, step in enumerate(campaign.steps):
            names = [step.template, *(v.template for v in step.variants)]
            for channel in step.channels:
                for name in names:
                    if not renderer.has(channel, name):
                        problems.append(
                            f"{where}, line {lines[('steps', index, 'template')]}: step '{step.name}' "
                            f"has no {channel} template '{name}' (see `outreach templates lint`)"
                        )
        problems += [
            f"{where}, line {line}: {problem}" for line, problem in _extra_problems(campaign, lines, renderer)
        ]
        campaigns[campaign.name] = campaign
    problems += _engagement_problems(segments, campaigns)
    if problems:
        raise CampaignErrors("\n".join(problems))
    return CampaignLibrary(campaigns, segments, renderer)


def _extra_problems(campaign: Campaign, lines: dict, renderer: Renderer) -> list[tuple[int, str]]:  # type: ignore[type-arg]
    """Each template a step may send (fragile variants included) reads only the `extra` values the
    campaign's journey supplies for every message: otherwise the step would halt at its first message."""
    supplied = EXTRA_BY_JOURNEY.get(campaign.journey, frozenset())
    problems = []
    for index, step in enumerate(campaign.steps):
        for name in {step.template, *(v.template for v in step.variants)}:
            for channel in step.channels:
                for template in (name, f"{name}_fragile"):
                    if not renderer.has(channel, template):
                        continue
                    missing = sorted(extra_reads(renderer, channel, template) - supplied)
                    if missing:
                        fields = ", ".join(f"extra.{field}" for field in missing)
                        problems.append(
                            (
                                lines[("steps", index, "template")],
                                f"step '{step.name}': {channel} template '{template}' reads {fields}, "
                                f"which the {campaign.journey} journey does not supply "
                                f"(supplied: {', '.join(sorted(supplied)) or 'none'}): use another template",
                            )
                        )
    return problems


def _used_segments(segments: SegmentLibrary, campaigns: dict[str, Campaign]) -> set[str]:
    """The segments the campaigns target, and every segment those refer to."""
    used: set[str] = set()
    pending = [c.segment for c in campaigns.values() if c.segment in segments.names]
    while pending:
        name = pending.pop()
        if name not in used:
            used.add(name)
            pending += [ref.segment for ref in references(segments.get(name).rule)]
    return used


def _engagement_problems(segments: SegmentLibrary, campaigns: dict[str, Campaign]) -> list[str]:
    """A used segment reading engagement must name campaigns and steps that exist (a typo matches nobody)."""
    problems = []
    for name in sorted(_used_segments(segments, campaigns)):
        segment = segments.get(name)
        for condition in walk(segment.rule):
            if not isinstance(condition, Engagement):
                continue
            where = f"{display_path(segment.path)}, line {condition.line}"
            campaign = campaigns.get(condition.campaign)
            if campaign is None:
                problems.append(f"{where}: no campaign named '{condition.campaign}' in campaigns/")
            elif condition.step and condition.step not in [s.name for s in campaign.steps]:
                problems.append(f"{where}: campaign '{condition.campaign}' has no step '{condition.step}'")
    return problems
