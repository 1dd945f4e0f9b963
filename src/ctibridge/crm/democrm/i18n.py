"""The pages' words in French and English, and which language a request wants."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.requests import Request

LANGUAGES = ("en", "fr")

MESSAGES: dict[str, dict[str, str]] = {
    "title": {"en": "Demo CRM", "fr": "CRM de démonstration"},
    "contacts": {"en": "Contacts", "fr": "Contacts"},
    "search": {"en": "Search", "fr": "Rechercher"},
    "search_label": {"en": "Name or company", "fr": "Nom ou société"},
    "new_contact": {"en": "New contact", "fr": "Nouveau contact"},
    "name": {"en": "Name", "fr": "Nom"},
    "company": {"en": "Company", "fr": "Société"},
    "phones": {"en": "Phone numbers", "fr": "Téléphones"},
    "email": {"en": "Email", "fr": "E-mail"},
    "customer_id": {"en": "Customer number", "fr": "N° client"},
    "none": {"en": "none", "fr": "aucun"},
    "no_contacts": {"en": "No contact matches.", "fr": "Aucun contact ne correspond."},
    "shown": {"en": "{shown} of {total} contacts", "fr": "{shown} contacts sur {total}"},
    "previous": {"en": "Previous", "fr": "Précédents"},
    "next": {"en": "Next", "fr": "Suivants"},
    "history": {"en": "Activity history", "fr": "Historique des activités"},
    "no_history": {"en": "No activity yet.", "fr": "Aucune activité pour l'instant."},
    "call_number": {"en": "Call {number}", "fr": "Appeler le {number}"},
    "when": {"en": "When", "fr": "Quand"},
    "what": {"en": "What", "fr": "Quoi"},
    "duration": {"en": "Duration", "fr": "Durée"},
    "agent": {"en": "Agent", "fr": "Agent"},
    "queue": {"en": "Queue", "fr": "File"},
    "disposition": {"en": "Outcome", "fr": "Issue"},
    "notes": {"en": "Notes", "fr": "Notes"},
    "inbound": {"en": "Inbound", "fr": "Entrant"},
    "outbound": {"en": "Outbound", "fr": "Sortant"},
    "internal": {"en": "Internal", "fr": "Interne"},
    "call": {"en": "call", "fr": "appel"},
    "email_kind": {"en": "email", "fr": "e-mail"},
    "chat": {"en": "chat", "fr": "chat"},
    "sms": {"en": "SMS", "fr": "SMS"},
    "social": {"en": "social message", "fr": "message social"},
    "note": {"en": "note", "fr": "note"},
    "first_name": {"en": "First name", "fr": "Prénom"},
    "last_name": {"en": "Last name", "fr": "Nom"},
    "phone": {"en": "Phone", "fr": "Téléphone"},
    "label": {"en": "Type", "fr": "Type"},
    "mobile": {"en": "mobile", "fr": "mobile"},
    "work": {"en": "work", "fr": "travail"},
    "home": {"en": "home", "fr": "domicile"},
    "other": {"en": "other", "fr": "autre"},
    "no_company": {"en": "(private customer)", "fr": "(particulier)"},
    "create": {"en": "Create the contact", "fr": "Créer le contact"},
    "cancel": {"en": "Cancel", "fr": "Annuler"},
    "fix_errors": {"en": "Please correct the fields below.",
                   "fr": "Corrigez les champs ci-dessous."},
    "not_found": {"en": "Not found", "fr": "Introuvable"},
    "no_such_contact": {"en": "There is no contact {id}.", "fr": "Le contact {id} n'existe pas."},
    "back": {"en": "Back to the contacts", "fr": "Retour aux contacts"},
    "phone_bar": {"en": "Phone bar", "fr": "Bandeau téléphonique"},
    "several": {"en": "Several contacts have this number: choose one.",
                "fr": "Plusieurs contacts ont ce numéro : choisissez."},
    "create_instead": {"en": "None of them: create a contact",
                       "fr": "Aucun d'eux : créer un contact"},
    "crm_unavailable": {"en": "The CRM could not be searched for this caller.",
                        "fr": "Le CRM n'a pas pu être interrogé pour cet appelant."},
    "dialling": {"en": "Calling {number}…", "fr": "Appel du {number}…"},
    "dial_failed": {"en": "The call could not be placed: {message}",
                    "fr": "L'appel n'a pas pu être passé : {message}"},
    "bar_missing": {"en": "The phone bar is not ready yet.",
                    "fr": "Le bandeau téléphonique n'est pas encore prêt."},
    "language": {"en": "Français", "fr": "English"},
    "err_required": {"en": "required", "fr": "obligatoire"},
    "err_invalid": {"en": "not valid", "fr": "invalide"},
}


def choose(request: Request) -> str:
    """``?lang=`` first, then Accept-Language by preference, then English."""
    asked = request.query_params.get("lang")
    if asked in LANGUAGES:
        return asked
    ranked: list[tuple[float, int, str]] = []
    header = request.headers.get("accept-language", "")
    for i, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        base = tag.strip().lower().split("-")[0]
        if base in LANGUAGES and q > 0:
            ranked.append((-q, i, base))
    return min(ranked)[2] if ranked else "en"


# An activity's name, each language with its own word order: "Inbound call", "Appel entrant".
_KINDS = {"call": ("call", "Appel"), "email": ("e-mail", "E-mail"), "chat": ("chat", "Chat"),
          "sms": ("SMS", "SMS"), "social": ("social message", "Message social")}
_DIRECTIONS = {"inbound": ("Inbound", "entrant"), "outbound": ("Outbound", "sortant"),
               "internal": ("Internal", "interne")}


class Translator:
    """The page's words in one language; ``outcomes`` labels outcome codes (code → en/fr)."""

    def __init__(self, lang: str,
                 outcomes: Mapping[str, Mapping[str, str]] | None = None) -> None:
        self.lang = lang
        self.outcomes = outcomes or {}

    def __call__(self, key: str, **values: object) -> str:
        text = MESSAGES[key][self.lang]
        return text.format(**values) if values else text

    def activity(self, kind: str, direction: str) -> str:
        """"Inbound call" / "Appel entrant"; a note is just a note."""
        if kind not in _KINDS or direction not in _DIRECTIONS:
            return self("note").capitalize() if kind == "note" else f"{kind} {direction}"
        en_kind, fr_kind = _KINDS[kind]
        en_dir, fr_dir = _DIRECTIONS[direction]
        return f"{en_dir} {en_kind}" if self.lang == "en" else f"{fr_kind} {fr_dir}"

    def outcome(self, code: str | None) -> str:
        """The outcome's label in this language; an unknown code as it is."""
        if not code:
            return ""
        label = self.outcomes.get(code) or {}
        return label.get(self.lang) or code
