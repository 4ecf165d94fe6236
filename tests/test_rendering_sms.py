"""SMS: carrier-exact length and segment counting, transliteration, declared limits, every SMS template."""

from __future__ import annotations

from pathlib import Path

import pytest

from outreach.rendering import (
    Renderer,
    SmsTooLongError,
    TemplateError,
    measure,
    person_context,
    transliterate,
)
from outreach.rendering.gsm import GSM7, UCS2, non_gsm_characters
from outreach.rendering.samples import LONGEST_PERSON, SAMPLE_AS_OF, SAMPLE_EXTRA, SAMPLE_PEOPLE

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


@pytest.mark.parametrize(
    ("text", "encoding", "characters", "segments"),
    [
        ("", GSM7, 0, 0),
        ("a" * 160, GSM7, 160, 1),
        ("a" * 161, GSM7, 161, 2),
        ("a" * 306, GSM7, 306, 2),
        ("a" * 307, GSM7, 307, 3),
        ("Votre relevé de carrière à 35 ans : où en êtes-vous ?", UCS2, 53, 1),  # ê is not GSM
        ("ê" + "a" * 69, UCS2, 70, 1),
        ("ê" + "a" * 70, UCS2, 71, 2),
        ("ê" + "a" * 133, UCS2, 134, 2),
        ("ê" + "a" * 134, UCS2, 135, 3),
        ("€" * 80, GSM7, 160, 1),  # € is in the extension table: two septets
        ("€" * 81, GSM7, 162, 2),
        ("a" * 152 + "€" + "a" * 10, GSM7, 164, 2),  # the € pair is not split across parts
        ("a" * 152 + "€" * 77, GSM7, 306, 3),  # 152 + 2x76 = 304 fits two parts only if pairs split
        ("Été à Aubusson : é è ù ì ò à É Ç ü Ä Ö Ñ", GSM7, 40, 1),  # the basic set's accents stay GSM
        ("Noël", UCS2, 4, 1),  # ë is not in the basic set
        ("ça", UCS2, 2, 1),  # lower-case ç is treated as UCS-2 (ambiguous 0x09)
        ("l’Assurance", UCS2, 11, 1),  # typographic apostrophe
        ("« Bienvenue »", UCS2, 13, 1),
        ("😀" * 35, UCS2, 70, 1),  # an emoji costs two UTF-16 units
        ("😀" * 36, UCS2, 72, 2),
        ("a" * 66 + "😀" + "a" * 66, UCS2, 134, 3),  # 67 units per part, the pair is not split
    ],
)
def test_measure_counts_like_carriers(text: str, encoding: str, characters: int, segments: int) -> None:
    length = measure(text)
    assert (length.encoding, length.characters, length.segments) == (encoding, characters, segments)


def test_transliteration_reaches_gsm7() -> None:
    text = "« Bien vivre ma retraite » : l’Assurance retraite, fenêtre, Françoise, Benoît, œuvre – 3960…"
    assert measure(text).encoding == UCS2
    result = transliterate(text)
    assert (
        result
        == '"Bien vivre ma retraite" : l\'Assurance retraite, fenetre, Francoise, Benoit, oeuvre - 3960...'
    )
    assert non_gsm_characters(result) == ""
    assert measure(result).encoding == GSM7


def test_transliteration_keeps_gsm_accents() -> None:
    assert transliterate("Été à Aubusson, réversion") == "Été à Aubusson, réversion"


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(TEMPLATES)


@pytest.mark.parametrize("person", [*SAMPLE_PEOPLE, LONGEST_PERSON], ids=lambda p: p["person_id"])
def test_every_sms_template_renders_within_its_limit(renderer: Renderer, person: dict) -> None:
    context = person_context(person, as_of=SAMPLE_AS_OF, extra=SAMPLE_EXTRA)
    names = renderer.names("sms")
    assert names and all(f"{name}_fragile" in names for name in names if not name.endswith("_fragile"))
    for name in names:
        sms = renderer.sms(name, context)
        assert sms.body.startswith("CARSAT Centre-Ouest : ")
        assert sms.body.endswith(" STOP au 36111")
        assert sms.sender == "CARSAT CO" and len(sms.sender) <= 11
        assert "\n" not in sms.body and "  " not in sms.body
        assert sms.encoding == GSM7, f"{name}: {non_gsm_characters(sms.body)!r} forces UCS-2"
        length = measure(sms.body)
        assert (length.encoding, length.characters, length.segments) == (
            sms.encoding,
            sms.characters,
            sms.segments,
        )
        assert 1 <= sms.segments <= 2
        if name.endswith("_fragile"):
            assert "Un conseiller au 3960." in sms.body


def test_sms_content_is_personal_and_transliterated(renderer: Renderer) -> None:
    context = person_context(LONGEST_PERSON, as_of=SAMPLE_AS_OF, extra=SAMPLE_EXTRA)
    sms = renderer.sms("complaint_acknowledgement", context)
    assert sms.body.startswith("CARSAT Centre-Ouest : Bonjour Madame, ")  # a name too long for one part
    assert "REC-2026-0004817" in sms.body
    assert "votre réclamation REC-2026-0004817 est bien enregistrée" in sms.body  # é kept, no ç to strip
    named = person_context(
        {**LONGEST_PERSON, "last_name": "Châteauneuf"}, as_of=SAMPLE_AS_OF, extra=SAMPLE_EXTRA
    )
    survivor = renderer.sms("survivor_pension", named)
    assert "Bonjour Mme Chateauneuf," in survivor.body  # â transliterated in the name
    assert "pension de réversion" in survivor.body and "peut-etre" not in survivor.body


def _templates_with(tmp_path: Path, name: str, source: str) -> Renderer:
    (tmp_path / "sms").mkdir()
    (tmp_path / "sms" / "_layout.txt").write_text(
        (TEMPLATES / "sms" / "_layout.txt").read_text("utf-8"), "utf-8"
    )
    (tmp_path / "sms" / f"{name}.txt").write_text(source, encoding="utf-8")
    return Renderer(tmp_path)


def test_exceeding_max_segments_is_an_error_naming_the_template(tmp_path: Path) -> None:
    source = (
        "{# max_segments: 1 #}\n{% extends 'sms/_layout.txt' %}"
        "{% block message %}Bonjour {{ person.short_addressee }}, {{ 'x' * 90 }}{% endblock %}"
    )
    renderer = _templates_with(tmp_path, "trop_long", source)
    short = person_context({**SAMPLE_PEOPLE[1], "last_name": "Roy"}, as_of=SAMPLE_AS_OF)
    assert renderer.sms("trop_long", short).segments == 1
    long = person_context(LONGEST_PERSON, as_of=SAMPLE_AS_OF)
    with pytest.raises(SmsTooLongError, match=r"sms/trop_long\.txt: this SMS needs 2 segments .* allows 1"):
        renderer.sms("trop_long", long)


def test_ucs2_without_transliteration_counts_against_the_limit(tmp_path: Path) -> None:
    source = (
        "{# max_segments: 1 #}\n{% extends 'sms/_layout.txt' %}"
        "{% block message %}Bonjour {{ person.first_name }}, votre relevé est prêt.{% endblock %}"
    )
    renderer = _templates_with(tmp_path, "sans_translit", source)
    context = person_context(SAMPLE_PEOPLE[3], as_of=SAMPLE_AS_OF)  # Françoise: ç
    with pytest.raises(SmsTooLongError, match="UCS-2"):
        renderer.sms("sans_translit", context)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("", "no header declaring max_segments"),
        ("{# transliterate: true #}\n", "max_segments must be a whole number"),
        ("{# max_segments: 0 #}\n", "max_segments must be a whole number"),
        ("{# max_segments: 2\ncolour: red #}\n", "unknown header keys"),
        ("{# max_segments: 2\ntransliterate: maybe #}\n", "transliterate must be true or false"),
    ],
)
def test_sms_header_is_required_and_checked(tmp_path: Path, header: str, message: str) -> None:
    renderer = _templates_with(tmp_path, "entete", header + "{% extends 'sms/_layout.txt' %}")
    with pytest.raises(TemplateError, match=message):
        renderer.sms("entete", person_context(SAMPLE_PEOPLE[1], as_of=SAMPLE_AS_OF))
