"""The SQL that selects a partner's people: members of its segments, on its territory, never the others.

One statement: recorded segment membership on the as-of date (`history.members_on`, so a list can be
reproduced later), people who are not deceased and have not objected to partner sharing (or to
everything), the profile's declared territory, its filters (postcodes or départements, and the
organisation representing the person). Only the `people` columns the profile's columns need are read.

The declared territory is applied on its own, whatever the filters say: the profile checks already
refuse a filter that reaches outside it, and this condition keeps that true for a profile built
without them (defence in depth). A person with no postcode is on no territory, so never exported.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import ColumnElement, Connection, Select, case, func, literal, or_, select, union_all

from outreach.exports.columns import COLUMNS
from outreach.exports.profile import PartnerProfile
from outreach.models import OptOut, Person
from outreach.population.representation import represented_by_prefix
from outreach.segments.history import members_on

PEOPLE = Person.__table__
OPT_OUTS = OptOut.__table__
NEVER_SHARE = ("partner_sharing", "all")
"""Opt-out channels that forbid any export."""
DEPARTEMENT = func.substr(PEOPLE.c.postal_code, 1, 2)
"""A person's département: their postcode's first two digits."""


def source_columns(profile: PartnerProfile) -> list[str]:
    """The `people` columns the profile's columns read (always the identifier, to order and pseudonymise)."""
    needed = {"person_id"}
    for code in profile.columns:
        needed.update(COLUMNS[code].sources)
    return [column.name for column in PEOPLE.columns if column.name in needed]


def partner_selection(connection: Connection, profile: PartnerProfile, as_of: date) -> Select:
    """SELECT the profile's source columns and one 0/1 `in_segment_<i>` flag per segment, by person_id.

    Raises `HistoryError` when a segment was never refreshed by `as_of`: a list is only ever made from
    recorded membership.
    """
    per_segment = [
        members_on(connection, segment, as_of)
        .order_by(None)
        .add_columns(literal(index).label("segment_index"))
        for index, segment in enumerate(profile.segments)
    ]
    memberships = union_all(*per_segment).subquery("memberships")
    flags = [f"in_segment_{index}" for index in range(len(profile.segments))]
    members = (
        select(
            memberships.c.person_id,
            *(
                func.max(case((memberships.c.segment_index == index, 1), else_=0)).label(flag)
                for index, flag in enumerate(flags)
            ),
        )
        .group_by(memberships.c.person_id)
        .subquery("members")
    )
    # NOT IN over the (small) set of objectors, not a correlated NOT EXISTS: PostgreSQL hashes it whatever
    # its estimate of the members' count (a 200-row guess once made it rescan opt_outs per person).
    objected = PEOPLE.c.person_id.in_(select(OPT_OUTS.c.person_id).where(OPT_OUTS.c.channel.in_(NEVER_SHARE)))
    query = (
        select(*(PEOPLE.c[name] for name in source_columns(profile)), *(members.c[flag] for flag in flags))
        .join_from(PEOPLE, members, members.c.person_id == PEOPLE.c.person_id)
        .where(PEOPLE.c.status != "deceased", ~objected)
        .order_by(PEOPLE.c.person_id)
    )
    query = query.where(DEPARTEMENT.in_(profile.territory))
    places = _places(profile)
    if places is not None:
        query = query.where(places)
    if profile.filters.represented_by is not None:
        prefix = represented_by_prefix(profile.filters.represented_by)
        query = query.where(PEOPLE.c.legal_representative.startswith(prefix, autoescape=True))
    return query


def _places(profile: PartnerProfile) -> ColumnElement[bool] | None:
    """Postcode listed, or département listed; None when the filters name no place."""
    tests = []
    if profile.filters.postcodes:
        tests.append(PEOPLE.c.postal_code.in_(profile.filters.postcodes))
    if profile.filters.departements:
        tests.append(DEPARTEMENT.in_(profile.filters.departements))
    return or_(*tests) if tests else None
