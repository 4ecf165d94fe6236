"""Rendering throughput per channel, against the floor of bare Jinja2 on the same templates and contexts.

    .venv/bin/python bench/bench_render.py [--count 100000] [--letters 2000]

E-mail and SMS render `--count` messages for a pool of 1,000 synthetic people (contexts are built
once, outside the timing, and their build rate is reported on its own). The floor renders the same
compiled sources (CSS already inlined) with a plain `jinja2.Environment`: no sandbox, no strict
undefined, no error translation, no SMS counting; the ratio is the cost of those safety layers.
`Renderer.email` fills stencils (`outreach/rendering/stencil.py`); the same renderer with stencils off
renders every message in full through the sandbox, as a message no stencil fits is rendered.
Floor and ours run in 5 alternating rounds. Letters are written into one batch PDF. Rates use CPU
time of this single process (the machine is shared; wall-clock rates are shown too).
Targets: e-mail >= 5,000/s and <= 1.5x the floor, SMS >= 20,000/s, letters >= 100 pages/s.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import jinja2
import reportlab

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from outreach.rendering import LetterBatch, Renderer, person_context  # noqa: E402
from outreach.rendering.environment import TemplateLoader, configure  # noqa: E402
from outreach.rendering.samples import SAMPLE_EXTRA  # noqa: E402

AS_OF = date(2026, 11, 26)
POOL = 1_000
FIRST = (
    "Marie-Thérèse",
    "Jean-Baptiste",
    "Françoise",
    "Noël",
    "Anaïs",
    "Hélène",
    "Loïc",
    "Zoé",
    "Éric",
    "Inès",
)
LAST = (
    "de La Rochefoucauld-Lévis",
    "N'Diaye",
    "Lefèvre",
    "Châteauneuf",
    "Brûlé",
    "Moreau",
    "Da Silva",
    "Dupré",
)
STREETS = (
    "3 rue de l'Église",
    "12 avenue du Président Wilson",
    "7 impasse des Genêts",
    "45 route de Limoges",
)
TOWNS = (
    ("86000", "Poitiers"),
    ("16000", "Angoulême"),
    ("87000", "Limoges"),
    ("79400", "Saint-Maixent-l'École"),
)


def synthetic_people(count: int) -> list[dict[str, Any]]:
    """`count` varied, realistic people (deterministic)."""
    people = []
    for i in range(count):
        postal_code, city = TOWNS[i % len(TOWNS)]
        people.append(
            {
                "person_id": f"P{i:08d}",
                "civility": ("Mme", "M", None)[i % 3],
                "first_name": FIRST[i % len(FIRST)] if i % 7 else None,
                "last_name": LAST[(i // 3) % len(LAST)],
                "birth_date": date(1991, 1 + i % 12, 1 + i % 28),
                "status": "active",
                "worker_type": "salaried",
                "email": f"personne{i}@example.org",
                "mobile_phone": "+33612345678",
                "address_complement": "Appartement 12" if i % 5 == 0 else None,
                "address_building": None,
                "address_street": STREETS[i % len(STREETS)],
                "address_locality": None,
                "postal_code": postal_code,
                "city": city,
                "country": None,
                "retirement_date": None,
                "spouse_death_date": None,
                "digital_profile": "technophile",
                "fragility_flags": "",
            }
        )
    return people


ROUNDS = 5


def _report(label: str, count: int, unit: str, cpu: float, wall: float) -> float:
    rate = count / cpu
    print(f"{label:<34} {count:>8} {unit:<8} {rate:>10,.0f}/s CPU  {count / wall:>10,.0f}/s wall")
    return rate


def timed(label: str, count: int, unit: str, work: Callable[[], None]) -> float:
    """Run `work`, print its rate, return the CPU-time rate (per second)."""
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return _report(label, count, unit, time.process_time() - cpu, time.perf_counter() - wall)


def compared(
    count: int, floor: tuple[str, Callable[[int], None]], ours: tuple[str, Callable[[int], None]]
) -> tuple[float, float]:
    """Run floor and ours in alternating rounds (a busy neighbour then slows both alike); their rates."""
    totals = {floor[0]: [0.0, 0.0], ours[0]: [0.0, 0.0]}
    per_round = count // ROUNDS
    for _ in range(ROUNDS):
        for label, work in (floor, ours):
            wall, cpu = time.perf_counter(), time.process_time()
            work(per_round)
            totals[label][0] += time.process_time() - cpu
            totals[label][1] += time.perf_counter() - wall
    done = per_round * ROUNDS
    return (
        _report(floor[0], done, "messages", *totals[floor[0]]),
        _report(ours[0], done, "messages", *totals[ours[0]]),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--count", type=int, default=100_000, help="e-mails and SMS to render (default 100,000)"
    )
    parser.add_argument("--letters", type=int, default=2_000, help="letters in the batch PDF (default 2,000)")
    parser.add_argument("--template", default="career_statement_35")
    args = parser.parse_args()
    name = args.template

    print(f"python {platform.python_version()}, jinja2 {jinja2.__version__}, reportlab {reportlab.Version}")
    print(f"template {name}, pool of {POOL} synthetic people, dated {AS_OF}")
    renderer = Renderer(ROOT / "templates")
    in_full = Renderer(ROOT / "templates", stencils=False)
    people = synthetic_people(POOL)
    contexts: list[dict[str, Any]] = []
    timed(
        "context building",
        POOL,
        "contexts",
        lambda: contexts.extend(person_context(p, as_of=AS_OF, extra=SAMPLE_EXTRA) for p in people),
    )

    bare = configure(
        jinja2.Environment(
            loader=TemplateLoader(renderer.root),
            autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,
        )
    )
    text_t, html_t = bare.get_template(f"mail/{name}.txt"), bare.get_template(f"mail/{name}.html")
    sms_t = bare.get_template(f"sms/{name}.txt")
    for context in contexts[:20]:  # load, compile and trace outside the timing, for all
        renderer.email(name, context)
        renderer.sms(name, context)
    in_full.email(name, contexts[0])
    obstacles = renderer.stencil_obstacles("email", name) + renderer.stencil_obstacles("sms", name)
    print(f"stencils: {'; '.join(obstacles) if obstacles else 'every part of the message is stencilled'}")

    def floor_email(count: int) -> None:
        for i in range(count):
            context = contexts[i % POOL]
            text_context = text_t.new_context(context)
            "".join(text_t.root_render_func(text_context))
            subject = "".join(text_context.blocks["subject"][0](text_context))
            preheader = "".join(text_context.blocks["preheader"][0](text_context))
            html_t.render(context, subject=subject, preheader=preheader)

    def our_email(count: int) -> None:
        for i in range(count):
            renderer.email(name, contexts[i % POOL])

    def full_email(count: int) -> None:
        for i in range(count):
            in_full.email(name, contexts[i % POOL])

    def floor_sms(count: int) -> None:
        for i in range(count):
            sms_t.render(contexts[i % POOL])

    def our_sms(count: int) -> None:
        for i in range(count):
            renderer.sms(name, contexts[i % POOL])

    floor, full = compared(
        args.count // 4,
        ("e-mail, bare jinja2 (floor)", floor_email),
        ("e-mail, Renderer.email, stencils off", full_email),
    )
    _, email = compared(
        args.count, ("e-mail, bare jinja2 (floor)", floor_email), ("e-mail, Renderer.email", our_email)
    )
    _, sms = compared(args.count, ("SMS, bare jinja2 (floor)", floor_sms), ("SMS, Renderer.sms", our_sms))

    with tempfile.TemporaryDirectory() as folder:
        batch = LetterBatch(Path(folder) / "batch.pdf", renderer)
        batch.add(name, contexts[0])  # compile outside the timing

        def letters() -> None:
            for i in range(args.letters):
                batch.add(name, contexts[i % POOL])

        wall, cpu = time.perf_counter(), time.process_time()
        letters()
        rows = batch.close()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        pages = rows[-1].last_page - rows[0].last_page
        size = (Path(folder) / "batch.pdf").stat().st_size
    page_rate = pages / cpu
    print(
        f"{'letters, LetterBatch (batch PDF)':<34} {pages:>8} {'pages':<8} {page_rate:>10,.0f}/s CPU  "
        f"{pages / wall:>10,.0f}/s wall  ({args.letters} letters, {size / 1e6:.1f} MB)"
    )

    print()
    print(
        f"e-mail vs floor: {floor / email:.2f}x the floor's time (target <= 1.5x); "
        f"rendered in full: {floor / full:.2f}x"
    )
    verdicts = [
        ("e-mail >= 5,000/s", email >= 5_000),
        ("e-mail <= 1.5x floor", floor / email <= 1.5),
        ("SMS >= 20,000/s", sms >= 20_000),
        ("letters >= 100 pages/s", page_rate >= 100),
    ]
    print("targets: " + ", ".join(f"{label} {'ok' if met else 'MISSED'}" for label, met in verdicts))


if __name__ == "__main__":
    main()
