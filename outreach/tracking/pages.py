"""The few French pages people see: unsubscribe, letter response, satisfaction survey, broken link.

Plain, accessible HTML (lang="fr", labelled controls, no script, readable without CSS): many of the
fund's people read on an old phone or with a screen reader.
"""

from __future__ import annotations

from html import escape

FUND = "CARSAT Centre-Ouest"
HELP = (
    "Pour toute question, appelez le <strong>3960</strong> (service gratuit + prix de l’appel) ou "
    "écrivez-nous depuis votre espace personnel sur "
    '<a href="https://www.lassuranceretraite.fr/">lassuranceretraite.fr</a>.'
)
CHANNEL_NAMES = {"email": "d’e-mails", "sms": "de SMS", "letter": "de courriers"}
SCORES = {
    1: "Pas du tout satisfait",
    2: "Peu satisfait",
    3: "Moyennement satisfait",
    4: "Satisfait",
    5: "Très satisfait",
}
_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:38rem;margin:2rem auto;padding:0 1rem;"
    "line-height:1.5;color:#1a1a1a}h1{font-size:1.5rem}button{font-size:1rem;padding:.6rem 1rem;"
    "margin:.3rem 0}fieldset{border:1px solid #888;padding:1rem}label{display:block;margin:.3rem 0}"
    "textarea{width:100%;font-size:1rem}.error{color:#a00;font-weight:bold}a{color:#0a4ea3}"
)


def page(title: str, body: str) -> str:
    """A complete page: `body` is trusted HTML built by this module."""
    return (
        '<!doctype html>\n<html lang="fr"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="robots" content="noindex"><title>{escape(title)} – {FUND}</title>'
        f"<style>{_STYLE}</style></head><body><main><h1>{escape(title)}</h1>{body}</main>"
        f"<footer><p>{HELP}</p></footer></body></html>\n"
    )


def unsubscribe_form(channel: str | None) -> str:
    what = CHANNEL_NAMES.get(channel or "", "de messages")
    return page(
        "Se désinscrire",
        f"<p>Vous ne souhaitez plus recevoir {what} d’information de la {FUND} ? "
        "Un clic suffit, votre choix est pris en compte immédiatement.</p>"
        '<form method="post"><input type="hidden" name="scope" value="channel">'
        f'<button type="submit">Ne plus recevoir {what}</button></form>'
        '<form method="post"><input type="hidden" name="scope" value="all">'
        '<button type="submit">Ne plus recevoir aucun message d’information '
        "(e-mail, SMS et courrier)</button></form>"
        "<p>Les courriers liés à votre dossier (décisions, paiements) vous parviendront toujours.</p>",
    )


def unsubscribe_done(channel: str | None, every_channel: bool) -> str:
    what = (
        "aucun message d’information"
        if every_channel
        else "plus " + CHANNEL_NAMES.get(channel or "", "de messages")
    )
    text = f"de la {FUND}" if every_channel else f"d’information de la {FUND}"
    return page(
        "C’est noté",
        f"<p>Vous ne recevrez {what} {text}. Si vous changez d’avis, il suffit de nous le dire.</p>",
    )


def unsubscribe_unresolved() -> str:
    """The truth when the message is no longer held: nobody to opt out, but the request is kept."""
    return page(
        "Votre demande est enregistrée",
        "<p>Ce message ne figure plus dans nos fichiers : il est ancien, ou vos données ont été "
        "effacées à votre demande. Nous ne pouvons donc pas savoir à qui il était adressé, et nous "
        "n’avons pas pu appliquer votre désinscription automatiquement.</p>"
        "<p>Votre demande est conservée. Pour être certain de ne plus recevoir nos messages "
        "d’information, appelez le <strong>3960</strong> ou faites-en la demande depuis votre espace "
        'personnel sur <a href="https://www.lassuranceretraite.fr/">lassuranceretraite.fr</a>.</p>'
        "<p>Si vous avez demandé l’effacement de vos données, vous ne recevrez plus aucun message de "
        f"la {FUND} : vous n’avez rien d’autre à faire.</p>",
    )


def response_thanks() -> str:
    return page(
        "Merci, votre réponse est bien enregistrée",
        "<p>Nous avons bien noté que vous avez pris connaissance de notre courrier.</p>"
        "<p>Vous pouvez suivre votre dossier, faire vos démarches et prendre rendez-vous avec un "
        'conseiller depuis votre espace personnel sur <a href="https://www.lassuranceretraite.fr/">'
        "lassuranceretraite.fr</a>.</p>",
    )


def survey_form(error: str | None = None, score: int | None = None, comment: str = "") -> str:
    choices = "".join(
        f'<label><input type="radio" name="score" value="{value}" required'
        f"{' checked' if value == score else ''}> {value} – {label}</label>"
        for value, label in SCORES.items()
    )
    alert = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    return page(
        "Votre avis nous aide à mieux vous accompagner",
        f'{alert}<form method="post"><fieldset><legend>Quel est votre niveau de satisfaction ?</legend>'
        f"{choices}</fieldset>"
        '<p><label for="comment">Voulez-vous nous en dire plus ? (facultatif)</label>'
        '<textarea id="comment" name="comment" rows="5" maxlength="2000" aria-describedby="comment-hint">'
        f"{escape(comment)}</textarea>"
        '<span id="comment-hint">Merci de ne pas indiquer d’informations personnelles '
        "(numéro de sécurité sociale, coordonnées).</span></p>"
        '<button type="submit">Envoyer mon avis</button></form>',
    )


def survey_thanks() -> str:
    return page(
        "Merci pour votre avis",
        "<p>Votre réponse est bien enregistrée. Elle nous aide à améliorer notre accompagnement.</p>",
    )


def not_found() -> str:
    return page(
        "Ce lien n’est pas valide",
        "<p>Il est peut-être incomplet : vérifiez qu’il a été copié en entier.</p>",
    )
