"""Dutch for the request-shape refusals (`invalid_request`) of exchanges, cases, consents and
subjects, and for the FHIR Consent mapping's refusals. Field names and paths stay as the
contract spells them."""

from __future__ import annotations

from typing import Final

from gateway.i18n.catalogue import Text

__all__ = ["REQUEST_TEXTS"]

_BREAK_GLASS_FIX_EN: Final = (
    "Give break_glass as {{justification, meldcode: {{interest_served, no_other_way, "
    "consent_not_possible, proportionate, minimal_information}}}}: the five questions of the "
    "meldcode's conflict-of-duties test."
)
_BREAK_GLASS_FIX_NL: Final = (
    "Geef break_glass als {{justification, meldcode: {{interest_served, no_other_way, "
    "consent_not_possible, proportionate, minimal_information}}}}: de vijf vragen van de toets "
    "van het conflict van plichten uit de meldcode."
)

REQUEST_TEXTS: Final = (
    # -- gateway/policy/request.py: an exchange request ------------------------------------------
    Text(
        "the request body must be a JSON object",
        "de body van het verzoek moet een JSON-object zijn",
    ),
    Text(
        "unknown top-level field(s): {fields}",
        "onbekend(e) veld(en) op het hoogste niveau: {fields}",
    ),
    Text(
        "Send only purpose, to, subject, case_id, in_reply_to, break_glass and payload.",
        "Stuur alleen purpose, to, subject, case_id, in_reply_to, break_glass en payload.",
    ),
    Text(
        "'purpose' must be a purpose id (a string)", "'purpose' moet een doel-id zijn (een tekst)"
    ),
    Text("'payload' must be a JSON object", "'payload' moet een JSON-object zijn"),
    Text(
        '\'to\' as an object must be {{"case_network": "<case id>"}}',
        '\'to\' als object moet {{"case_network": "<casus-id>"}} zijn',
    ),
    Text("'to.case_network' must be a case id", "'to.case_network' moet een casus-id zijn"),
    Text(
        "'to' must be a partner id, a non-empty list of them, or a case network",
        "'to' moet een partner-id zijn, een niet-lege lijst daarvan, of een casusnetwerk",
    ),
    Text("'to' names more than {count} recipients", "'to' noemt meer dan {count} ontvangers"),
    Text(
        "each recipient in 'to' must be a partner id ([a-z0-9-]{{2,64}})",
        "elke ontvanger in 'to' moet een partner-id zijn ([a-z0-9-]{{2,64}})",
    ),
    Text("'{key}' must be {what:phrase}", "'{key}' moet {what:phrase} zijn"),
    Text(
        "a case id of letters, digits, '.', '_' or '-'",
        "een casus-id van letters, cijfers, '.', '_' of '-'",
    ),
    Text("an exchange id ('ex_...')", "een exchange-id ('ex_...')"),
    Text(_BREAK_GLASS_FIX_EN, _BREAK_GLASS_FIX_NL),
    Text(
        "'break_glass' must be an object with justification and meldcode",
        "'break_glass' moet een object zijn met justification en meldcode",
    ),
    Text(
        "'break_glass.justification' must be a real sentence (20 to 1000 characters)",
        "'break_glass.justification' moet een echte zin zijn (20 tot 1000 tekens)",
    ),
    Text(
        "'break_glass.meldcode' must answer all five questions",
        "'break_glass.meldcode' moet alle vijf vragen beantwoorden",
    ),
    Text(
        "'break_glass.meldcode.{key}' must be 10 to 500 characters",
        "'break_glass.meldcode.{key}' moet 10 tot 500 tekens lang zijn",
    ),
    Text(
        "'break_glass.meldcode.{key}' must be true or false",
        "'break_glass.meldcode.{key}' moet true of false zijn",
    ),
    # -- gateway/policy/cases.py: a case's fields -------------------------------------------------
    Text(
        "'dossier_reference' must be 1-40 letters, digits, '.', '_', '/' or '-'",
        "'dossier_reference' moet 1-40 letters, cijfers, '.', '_', '/' of '-' zijn",
    ),
    Text(
        'Send your own dossier reference, e.g. "WT-2026/0117", or leave it out.',
        'Stuur uw eigen dossierkenmerk, bijvoorbeeld "WT-2026/0117", of laat het weg.',
    ),
    Text(
        "'measure' must be an object with 'type' and 'ruling'",
        "'measure' moet een object zijn met 'type' en 'ruling'",
    ),
    Text("'measure.type' must be one of {types}", "'measure.type' moet een van {types} zijn"),
    Text(
        "'measure.ruling' must be the court ruling's reference (ECLI or case number): 1-80 "
        "letters, digits, spaces, ':', '.', '_', '/' or '-'",
        "'measure.ruling' moet het kenmerk van de beschikking zijn (ECLI of zaaknummer): 1-80 "
        "letters, cijfers, spaties, ':', '.', '_', '/' of '-'",
    ),
    Text(
        'For example "ECLI:NL:RBNHO:2026:1234" or "C/15/345678 / JE RK 26-123".',
        'Bijvoorbeeld "ECLI:NL:RBNHO:2026:1234" of "C/15/345678 / JE RK 26-123".',
    ),
    # -- gateway/subject.py -------------------------------------------------------------------------
    Text(
        "give either 'bsn' or 'identifier_system' with 'identifier_value', not both",
        "geef 'bsn' of 'identifier_system' met 'identifier_value', niet beide",
    ),
    Text(
        "'identifier_system' and 'identifier_value' go together",
        "'identifier_system' en 'identifier_value' horen bij elkaar",
    ),
    # -- consent/parse.py: the shape of a consent -------------------------------------------------
    Text("The body must be a JSON object.", "De body moet een JSON-object zijn."),
    Text(
        "Field /subject/bsn is required (or /subject/identifier for a person without a BSN).",
        "Veld /subject/bsn is verplicht (of /subject/identifier voor een persoon zonder BSN).",
    ),
    Text(
        "Fields /subject/bsn and /subject/identifier exclude each other: name the person once.",
        "Velden /subject/bsn en /subject/identifier sluiten elkaar uit: noem de persoon één keer.",
    ),
    Text(
        "Field /case_id must be a case id (1-64 letters, digits, '.', '_' or '-', not only "
        "digits).",
        "Veld /case_id moet een casus-id zijn (1-64 letters, cijfers, '.', '_' of '-', niet "
        "alleen cijfers).",
    ),
    Text("Field {pointer} is required.", "Veld {pointer} is verplicht."),
    Text("Field {pointer} must be an object.", "Veld {pointer} moet een object zijn."),
    Text("Field {pointer} must be a list.", "Veld {pointer} moet een lijst zijn."),
    Text("Field {pointer} must be a string.", "Veld {pointer} moet een tekst zijn."),
    Text(
        "Field {pointer} has more than {limit} entries.",
        "Veld {pointer} heeft meer dan {limit} elementen.",
    ),
    Text(
        "Field {pointer} must be a date as YYYY-MM-DD.",
        "Veld {pointer} moet een datum zijn als JJJJ-MM-DD (YYYY-MM-DD).",
    ),
    Text("Field {pointer} is not a calendar date.", "Veld {pointer} is geen bestaande datum."),
    Text(
        "Field {pointer} must be 1 to {limit} characters.",
        "Veld {pointer} moet 1 tot {limit} tekens lang zijn.",
    ),
    Text(
        "Field {pointer}/role must be one of {roles}.",
        "Veld {pointer}/role moet een van {roles} zijn.",
    ),
    Text(
        "Field {pointer}/name must be a string of 1 to {limit} characters.",
        "Veld {pointer}/name moet een tekst van 1 tot {limit} tekens zijn.",
    ),
    Text(
        "Field {where}/established_by must be one of {sources}.",
        "Veld {where}/established_by moet een van {sources} zijn.",
    ),
    Text(
        "Field {where}/ground must be one of {grounds}.",
        "Veld {where}/ground moet een van {grounds} zijn.",
    ),
    Text(
        "Field {pointer} must be a partner id ([a-z0-9-]{{2,64}}).",
        "Veld {pointer} moet een partner-id zijn ([a-z0-9-]{{2,64}}).",
    ),
    Text(
        "Field {pointer} must be a partner id ([a-z0-9-]{{2,64}}) or 'kind:' followed by one of "
        "{kinds}.",
        "Veld {pointer} moet een partner-id zijn ([a-z0-9-]{{2,64}}) of 'kind:' gevolgd door een "
        "van {kinds}.",
    ),
    Text(
        "Field /evidence/method must be one of {methods}.",
        "Veld /evidence/method moet een van {methods} zijn.",
    ),
    Text(
        "Field /evidence/reference must be 1 to {limit} characters.",
        "Veld /evidence/reference moet 1 tot {limit} tekens lang zijn.",
    ),
    Text(
        "{problem:phrase}; allowed in {where} are {fields}.",
        "{problem:phrase}; toegestaan in {where} zijn {fields}.",
    ),
    Text(
        "Field {pointer}/{name} is not taken by this call",
        "Veld {pointer}/{name} hoort niet bij deze aanroep",
    ),
    Text(
        "Object {where} has a field this call does not take",
        "Object {where} heeft een veld dat niet bij deze aanroep hoort",
    ),
    # -- consent/fhir.py: a FHIR R4 Consent resource ------------------------------------------------
    Text("FHIR Consent.{element}: {problem:phrase}", "FHIR Consent.{element}: {problem:phrase}"),
    Text("needs an identifier", "heeft een identifier nodig"),
    Text(
        "Refer to it by identifier (system and value).",
        "Verwijs ernaar met een identifier (system en value).",
    ),
    Text(
        "identifier needs a system and a value", "de identifier heeft een system en een value nodig"
    ),
    Text("Give both.", "Geef beide."),
    Text(
        "is neither the BSN naming system nor an identifier system the catalogue declares",
        "is niet het BSN-stelsel en ook geen identificatiestelsel dat de catalogus noemt",
    ),
    Text(
        "Identify the patient with one of: {systems}.",
        "Identificeer de patiënt met een van: {systems}.",
    ),
    Text(
        "is required (the person the consent is about)",
        "is verplicht (de persoon om wie de toestemming gaat)",
    ),
    Text(
        "Give patient.identifier with the BSN naming system.",
        "Geef patient.identifier met het BSN-stelsel.",
    ),
    Text("must refer to a Patient", "moet naar een Patient verwijzen"),
    Text("Refer to a contained Patient.", "Verwijs naar een opgenomen (contained) Patient."),
    Text("has no BSN or declared identifier", "heeft geen BSN of genoemde identifier"),
    Text(
        "Add an identifier with system {system} (or a declared identifier system).",
        "Voeg een identifier toe met system {system} (of een genoemd identificatiestelsel).",
    ),
    Text("must be a date", "moet een datum zijn"),
    Text("Give YYYY-MM-DD.", "Geef JJJJ-MM-DD (YYYY-MM-DD)."),
    Text("is required: who gave the consent", "is verplicht: wie de toestemming gaf"),
    Text(
        "Name the patient and/or a contained RelatedPerson (custodian).",
        "Noem de patiënt en/of een opgenomen RelatedPerson (gezagsdrager).",
    ),
    Text(
        "must be the patient or a contained RelatedPerson",
        "moet de patiënt of een opgenomen RelatedPerson zijn",
    ),
    Text(
        "Consent is given by the person or by a custodian.",
        "Toestemming wordt gegeven door de persoon zelf of door een gezagsdrager.",
    ),
    Text(
        "a {role} needs the authority-evidence extension",
        "een {role} heeft de extensie met het bewijs van het gezag nodig",
    ),
    Text(
        "Add extension {url} with establishedBy (gezagsregister, court_order or brp) and "
        "reference to the RelatedPerson.",
        "Voeg extensie {url} toe aan de RelatedPerson, met establishedBy (gezagsregister, "
        "court_order of brp) en reference.",
    ),
    Text(
        "needs exactly one code of the representation code system",
        "heeft precies één code uit het codestelsel voor vertegenwoordiging nodig",
    ),
    Text("Use one of {codes} ({system}).", "Gebruik een van {codes} ({system})."),
    Text("is not a custodian relationship", "is geen relatie van een gezagsdrager"),
    Text("Use one of {codes} (v3-RoleCode).", "Gebruik een van {codes} (v3-RoleCode)."),
    Text("has extension {url} more than once", "heeft extensie {url} meer dan eens"),
    Text("Give it once.", "Geef haar één keer."),
    Text(
        "extension {url} has a part the gateway does not take, or one twice",
        "extensie {url} heeft een deel dat de gateway niet aanneemt, of een deel twee keer",
    ),
    Text("Give each of {parts} once.", "Geef elk van {parts} één keer."),
    Text(
        "names an AGB code of no registered partner",
        "noemt een AGB-code van geen enkele geregistreerde partner",
    ),
    Text(
        "Use a registered partner's AGB code or partner id.",
        "Gebruik de AGB-code of partner-id van een geregistreerde partner.",
    ),
    Text("{system} is not supported", "{system} wordt niet ondersteund"),
    Text("Use {first}, {second} or {third}.", "Gebruik {first}, {second} of {third}."),
    Text("is required", "is verplicht"),
    Text(
        "State what is permitted: period, actors, purposes.",
        "Geef aan wat is toegestaan: periode, partijen, doelen.",
    ),
    Text("is not supported", "wordt niet ondersteund"),
    Text(
        "The gateway enforces consent by purpose, parties and period only; remove it.",
        "De gateway handhaaft toestemming alleen naar doel, partijen en periode; verwijder het.",
    ),
    Text("must be 'permit'", "moet 'permit' zijn"),
    Text(
        "Record a permit; a refusal is the absence of consent.",
        "Leg een permit vast; een weigering is het ontbreken van toestemming.",
    ),
    Text(
        "must be IRCP (recipient) or CST (sender, a partner)",
        "moet IRCP (ontvanger) of CST (afzender, een partner) zijn",
    ),
    Text("Code the role in {system}.", "Codeer de rol in {system}."),
    Text("must be {system}", "moet {system} zijn"),
    Text(
        "Code purposes from the gateway's catalogue.",
        "Codeer doelen uit de catalogus van de gateway.",
    ),
    Text("must be a date or dateTime", "moet een date of dateTime zijn"),
    Text("is not a valid date", "is geen geldige datum"),
    Text("must be 'Consent'", "moet 'Consent' zijn"),
    Text("Send an HL7 FHIR R4 Consent resource.", "Stuur een HL7 FHIR R4 Consent-resource."),
    Text("Remove it; see docs/standards.md.", "Verwijder het; zie docs/standards.md."),
    Text("must be 'active' to be recorded", "moet 'active' zijn om te worden vastgelegd"),
    Text(
        "Record a consent once it is given; withdraw with POST /v1/consents/{{id}}/withdraw.",
        "Leg een toestemming vast zodra ze is gegeven; trek in met "
        "POST /v1/consents/{{id}}/withdraw.",
    ),
    Text("must be patient-privacy", "moet patient-privacy zijn"),
    Text("Code scope in {system}.", "Codeer scope in {system}."),
    Text("Use {system} 59284-0 (Patient Consent).", "Gebruik {system} 59284-0 (Patient Consent)."),
    Text(
        "minor-decides-alone is given, but the patient is not among the performers",
        "minor-decides-alone is gegeven, maar de patiënt staat niet bij de performers",
    ),
    Text(
        "Name the patient in performer: the child decides alone, or remove the extension.",
        "Noem de patiënt in performer: het kind beslist zelf; of verwijder de extensie.",
    ),
    Text(
        "is required: where the proof of consent is kept",
        "is verplicht: waar het bewijs van de toestemming wordt bewaard",
    ),
    Text(
        "Give sourceAttachment.title or sourceReference (e.g. the form's number).",
        "Geef sourceAttachment.title of sourceReference (bijvoorbeeld het nummer van het "
        "formulier).",
    ),
)
