"""The fund's territory and French naming, as small lookup tables for the synthetic generator.

Everything here is built once per process (cached) so the generator can draw a million people by
indexing numpy arrays instead of calling Faker per row. Names come from Faker's fr_FR lists, topped up
with first names by birth generation: a pool without generations gives 90-year-old "Zoé"s and
20-year-old "Germaine"s, which makes demo data look fake at first glance.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

import numpy as np
import pandas as pd
from faker import Faker

from outreach.vocabulary import TERRITORY

COMMUNES_FILE = "communes_centre_ouest.csv"
RURAL_POPULATION = 3_000
"""Communes below this size get lieux-dits and stand for the many villages the file leaves out."""
RURAL_WEIGHT = 4
"""Weight multiplier for small communes: about half the territory lives in communes the file does not
list (a few dozen per département), so each listed bourg stands in for several villages."""
DEPARTMENT_POPULATION = {
    "16": 352_000,
    "17": 657_000,
    "19": 240_000,
    "23": 115_000,
    "79": 375_000,
    "86": 439_000,
    "87": 372_000,
}
"""INSEE population municipale (légale 2021, rounded): each département gets its real share of people,
whatever the number of its communes listed in the file."""

STREETS = (
    "rue de la République",
    "rue Victor Hugo",
    "avenue du Général de Gaulle",
    "rue Jean Jaurès",
    "place de l'Église",
    "rue de la Gare",
    "rue des Écoles",
    "rue du Moulin",
    "rue Pasteur",
    "avenue de la Libération",
    "rue Gambetta",
    "rue du Stade",
    "impasse des Lilas",
    "chemin des Vignes",
    "rue des Acacias",
    "allée des Tilleuls",
    "rue de la Fontaine",
    "route de Limoges",
    "route de Poitiers",
    "route d'Angoulême",
    "rue Émile Zola",
    "boulevard Carnot",
    "rue du Château",
    "rue de la Mairie",
    "rue des Peupliers",
    "rue du Maréchal Foch",
    "rue Saint-Martin",
    "chemin de la Croix",
    "rue des Jardins",
    "avenue Jean Moulin",
    "rue du Pont",
    "rue de l'Abreuvoir",
    "rue des Charmes",
    "rue du Four",
    "route de Saintes",
    "rue Aristide Briand",
    "rue Anatole France",
    "rue des Roses",
    "rue de Verdun",
    "rue du 8 Mai 1945",
)
LIEUX_DITS = (
    "Le Bourg",
    "La Croix Blanche",
    "Les Granges",
    "Chez Vergnaud",
    "Chez Barret",
    "Chez Rivaud",
    "Le Moulin",
    "La Forêt",
    "Les Bouchauds",
    "Le Mas",
    "Puy Martin",
    "La Brousse",
    "Les Chaumes",
    "Le Breuil",
    "La Métairie",
    "Les Combes",
    "Le Pré Haut",
    "La Petite Vallée",
    "Villeneuve",
    "Les Fosses",
)
RESIDENCES = (
    "Résidence Les Tilleuls",
    "Résidence du Parc",
    "Résidence Les Jardins",
    "Résidence Le Clos Fleuri",
    "Résidence Les Coteaux",
    "Résidence Beausoleil",
    "Les Terrasses du Lac",
    "Cité des Roses",
)
CARE_HOMES = ("EHPAD Les Glycines", "EHPAD Le Bois Joli", "EHPAD La Roseraie", "Résidence autonomie Le Lac")

# First names by birth generation: (born before, female names, male names). Checked in order.
GENERATIONS: tuple[tuple[int, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        1950,
        (
            "Jeanne", "Marie", "Yvette", "Simone", "Paulette", "Odette", "Germaine", "Denise", "Colette",
            "Madeleine", "Suzanne", "Andrée", "Raymonde", "Ginette", "Marcelle", "Lucienne", "Renée",
        ),
        (
            "Jean", "André", "Pierre", "Marcel", "René", "Roger", "Louis", "Georges", "Robert", "Henri",
            "Raymond", "Maurice", "Gilbert", "Lucien", "Fernand", "Guy", "Roland",
        ),
    ),
    (
        1970,
        (
            "Martine", "Monique", "Nicole", "Françoise", "Christine", "Catherine", "Sylvie", "Brigitte",
            "Chantal", "Dominique", "Isabelle", "Danielle", "Évelyne", "Annie", "Josiane", "Marie-Claude",
        ),
        (
            "Alain", "Michel", "Patrick", "Philippe", "Jean-Pierre", "Bernard", "Daniel", "Gérard",
            "Christian", "Jean-Claude", "Serge", "Didier", "Jacques", "Jean-Marc", "Claude", "Francis",
        ),
    ),
    (
        1990,
        (
            "Nathalie", "Valérie", "Sandrine", "Stéphanie", "Céline", "Sophie", "Aurélie", "Virginie",
            "Émilie", "Karine", "Laetitia", "Julie", "Élodie", "Séverine", "Delphine", "Anne-Sophie",
        ),
        (
            "Stéphane", "Christophe", "Laurent", "Sébastien", "Nicolas", "Frédéric", "David", "Olivier",
            "Julien", "Cédric", "Guillaume", "Jérôme", "Thierry", "Fabrice", "Mickaël", "Jean-François",
        ),
    ),
    (
        10_000,
        (
            "Camille", "Manon", "Léa", "Chloé", "Sarah", "Laura", "Marine", "Pauline", "Emma", "Clara",
            "Inès", "Jade", "Océane", "Justine", "Lucie", "Mathilde",
        ),
        (
            "Thomas", "Kevin", "Lucas", "Maxime", "Alexandre", "Hugo", "Théo", "Quentin", "Romain",
            "Antoine", "Nathan", "Enzo", "Florian", "Valentin", "Clément", "Louis",
        ),
    ),
)  # fmt: skip


def ascii_fold(text: str) -> str:
    """Lower-case ASCII form of a name for e-mail local parts ("Léa Le Goff" -> "léa le goff" -> ...)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if c.isascii()).lower().replace(" ", "").replace("'", "")


@dataclass(frozen=True)
class NamePool:
    """Names with their e-mail-ready folded forms, aligned by index."""

    names: np.ndarray
    folded: np.ndarray

    @classmethod
    def of(cls, names: tuple[str, ...] | list[str]) -> NamePool:
        unique = list(dict.fromkeys(names))
        return cls(np.array(unique, dtype=object), np.array([ascii_fold(n) for n in unique], dtype=object))


@dataclass(frozen=True)
class Communes:
    """The communes of the territory as aligned arrays, with sampling probabilities."""

    department: np.ndarray
    postal_code: np.ndarray
    city: np.ndarray
    population: np.ndarray
    probability: np.ndarray

    @property
    def rural(self) -> np.ndarray:
        return self.population < RURAL_POPULATION


@cache
def communes() -> Communes:
    """The communes file, checked against the territory (a typo there would put people elsewhere)."""
    path = files("outreach") / "data" / COMMUNES_FILE
    with path.open(encoding="utf-8") as handle:
        table = pd.read_csv(handle, comment="#", dtype=str)
    bad = table[
        ~table["department"].isin(list(TERRITORY)) | (table["postal_code"].str[:2] != table["department"])
    ]
    if not bad.empty:
        raise ValueError(f"{COMMUNES_FILE}: communes outside the territory: {bad['city'].tolist()}")
    population = table["population"].astype(np.int64).to_numpy()
    weight = np.where(population < RURAL_POPULATION, population * RURAL_WEIGHT, population).astype(float)
    department = table["department"]
    weight /= pd.Series(weight).groupby(department).transform("sum").to_numpy()
    weight *= department.map(DEPARTMENT_POPULATION).to_numpy(dtype=float)
    return Communes(
        department=table["department"].to_numpy(dtype=object),
        postal_code=table["postal_code"].to_numpy(dtype=object),
        city=table["city"].to_numpy(dtype=object),
        population=population,
        probability=weight / weight.sum(),
    )


@dataclass(frozen=True)
class Names:
    """Name pools: Faker fr_FR's lists plus first names by generation."""

    female: NamePool
    male: NamePool
    last: NamePool
    generation_bounds: np.ndarray  # birth years: generation g covers years < bounds[g]
    female_by_generation: tuple[NamePool, ...]
    male_by_generation: tuple[NamePool, ...]


@cache
def names() -> Names:
    """Faker fr_FR's name lists (read once, with a fixed seed, so pools never vary between runs)."""
    faker = Faker("fr_FR")
    faker.seed_instance(0)
    person = faker.provider("faker.providers.person")
    assert person is not None
    return Names(
        female=NamePool.of(list(person.first_names_female)),
        male=NamePool.of(list(person.first_names_male)),
        last=NamePool.of(list(person.last_names)),
        generation_bounds=np.array([bound for bound, _, _ in GENERATIONS]),
        female_by_generation=tuple(NamePool.of(female) for _, female, _ in GENERATIONS),
        male_by_generation=tuple(NamePool.of(male) for _, _, male in GENERATIONS),
    )
