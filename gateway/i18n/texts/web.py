"""Dutch for the web layer's own refusals: bodies and query parameters that are not what the
API takes (`gateway/web/`), the audit API's proofs, case and storage texts. Names of fields,
parameters and headers stay as the contract spells them."""

from __future__ import annotations

from typing import Final

from gateway.i18n.catalogue import Text

__all__ = ["WEB_TEXTS"]

WEB_TEXTS: Final = (
    # -- reading a body (gateway/web/common.py, limits.py, middleware.py) -------------------------
    Text("the request body must be JSON", "de body van het verzoek moet JSON zijn"),
    Text("Send Content-Type: application/json.", "Stuur Content-Type: application/json."),
    Text("the request body is not valid JSON", "de body van het verzoek is geen geldige JSON"),
    Text(
        "the request body holds a string that is not valid Unicode (a lone surrogate) or a "
        "number beyond the range of a double",
        "de body van het verzoek bevat een tekst die geen geldige Unicode is (een losse "
        "surrogate) of een getal buiten het bereik van een double",
    ),
    Text(
        "Send text as UTF-8 and numbers within the range the API documents.",
        "Stuur tekst als UTF-8 en getallen binnen het bereik dat de API-documentatie noemt.",
    ),
    Text("a form must be encoded in UTF-8", "een formulier moet in UTF-8 zijn gecodeerd"),
    Text(
        "Send the form without a charset, or as UTF-8.",
        "Stuur het formulier zonder charset, of als UTF-8.",
    ),
    Text("the form is not valid UTF-8", "het formulier is geen geldige UTF-8"),
    Text(
        "Percent-encode the form's text as UTF-8.",
        "Percent-codeer de tekst van het formulier als UTF-8.",
    ),
    Text(
        "the JSON body is nested deeper than {depth} levels",
        "de JSON-body is dieper genest dan {depth} niveaus",
    ),
    Text(
        "Send the flat structure the API documents.",
        "Stuur de platte structuur die de API-documentatie noemt.",
    ),
    Text(
        "the JSON body has an array or object with more than {count} members",
        "de JSON-body heeft een array of object met meer dan {count} elementen",
    ),
    Text(
        "Send at most the number of items the purpose's schema allows.",
        "Stuur hooguit het aantal elementen dat het schema van het doel toestaat.",
    ),
    Text(
        "the Fsc-Transaction-Id header must be a UUID version 7 in its canonical form "
        "(8-4-4-4-12 hexadecimal digits), as the FSC logging extension defines it",
        "de header Fsc-Transaction-Id moet een UUID versie 7 in de standaardvorm zijn "
        "(8-4-4-4-12 hexadecimale cijfers), zoals de FSC-logging-extensie die definieert",
    ),
    Text(
        "Send the transaction id your FSC Outway made (e.g. 0189f7e5-c883-7106-8272-"
        "ccb7fcba0575), or leave the header out.",
        "Stuur de transactie-id die uw FSC Outway maakte (bijvoorbeeld 0189f7e5-c883-7106-8272-"
        "ccb7fcba0575), of laat de header weg.",
    ),
    Text(
        "a path or query parameter holds a NUL character or text that is not valid Unicode",
        "een pad- of queryparameter bevat een NUL-teken of tekst die geen geldige Unicode is",
    ),
    Text(
        "Send parameters as percent-encoded UTF-8 text without control characters.",
        "Stuur parameters als percent-gecodeerde UTF-8-tekst zonder stuurtekens.",
    ),
    # -- query parameters -------------------------------------------------------------------------
    Text("query parameter '{name}' is required", "queryparameter '{name}' is verplicht"),
    Text(
        "query parameter '{name}' must be a whole number",
        "queryparameter '{name}' moet een geheel getal zijn",
    ),
    Text(
        "query parameter '{name}' must be a whole number of at least {low}",
        "queryparameter '{name}' moet een geheel getal van minstens {low} zijn",
    ),
    Text(
        "query parameter '{name}' must be a whole number from {low} to {high}",
        "queryparameter '{name}' moet een geheel getal van {low} tot en met {high} zijn",
    ),
    Text(
        "query parameter '{name}' must be an RFC 3339 time or a date",
        "queryparameter '{name}' moet een tijdstip volgens RFC 3339 of een datum zijn",
    ),
    Text(
        "query parameter '{name}' must carry a time zone (e.g. Z)",
        "queryparameter '{name}' moet een tijdzone hebben (bijvoorbeeld Z)",
    ),
    Text(
        "query parameter 'bsn' (or 'identifier_system' with 'identifier_value') is required",
        "queryparameter 'bsn' (of 'identifier_system' met 'identifier_value') is verplicht",
    ),
    Text(
        "Call GET /v1/consents?bsn=... or ?identifier_system=...&identifier_value=...",
        "Roep GET /v1/consents?bsn=... of ?identifier_system=...&identifier_value=... aan",
    ),
    Text("'status' must be one of {statuses}", "'status' moet een van {statuses} zijn"),
    Text(
        "'status' must be pending, justified or unjustified",
        "'status' moet pending, justified of unjustified zijn",
    ),
    Text(
        "'after' and 'lease' do not go together: a lease takes the oldest",
        "'after' en 'lease' gaan niet samen: een lease neemt de oudste berichten",
    ),
    # -- cases (gateway/web/cases.py, gateway/service/cases.py) -----------------------------------
    Text(
        "the case id must be 1-64 letters, digits, '.', '_' or '-'",
        "de casus-id moet 1-64 letters, cijfers, '.', '_' of '-' zijn",
    ),
    Text(
        "the body must be an object with optional 'dossier_reference', 'contact', "
        "'opened_on' and 'opened_on_exchange'",
        "de body moet een object zijn met eventueel 'dossier_reference', 'contact', "
        "'opened_on' en 'opened_on_exchange'",
    ),
    Text(
        'the body must be {{"reason": <code>}}, for a closure with an optional "notice", '
        "and nothing else",
        'de body moet {{"reason": <code>}} zijn, bij afsluiten met eventueel "notice", en '
        "verder niets",
    ),
    Text(
        "'notice' must be an object with 'subject' and 'payload' (a closure-notice payload)",
        "'notice' moet een object zijn met 'subject' en 'payload' (een payload van closure-notice)",
    ),
    Text(
        "Name the person as in an exchange and give the closure-notice payload, or leave "
        "'notice' out.",
        "Noem de persoon zoals in een uitwisseling en geef de payload van closure-notice, of "
        "laat 'notice' weg.",
    ),
    Text(
        "Send only a reason code; a note or other free text is not accepted.",
        "Stuur alleen een redencode; een notitie of andere vrije tekst wordt niet aangenomen.",
    ),
    Text(
        "the body must be an object with 'role', and optional 'contact', 'reported_via', "
        "'measure' and 'column'",
        "de body moet een object zijn met 'role', en eventueel 'contact', 'reported_via', "
        "'measure' en 'column'",
    ),
    Text(
        'the body must be {{"to": <partner id>}} and nothing else',
        'de body moet {{"to": <partner-id>}} zijn, en verder niets',
    ),
    Text(
        "Name the partner that takes procesregie over; it must be a member of the case.",
        "Noem de partner die de procesregie overneemt; die moet lid van de casus zijn.",
    ),
    Text(
        "the child_ref must be a short opaque reference",
        "de child_ref moet een korte, betekenisloze verwijzing zijn",
    ),
    Text(
        'the body must be {{"directed_by": <partner id> | null}} and nothing else',
        'de body moet {{"directed_by": <partner-id> | null}} zijn, en verder niets',
    ),
    Text(
        "Name the certified institution that directs the child's help, or null to give it back "
        "to the procesregisseur.",
        "Noem de gecertificeerde instelling die de regie over de hulp aan het kind voert, of "
        "null om die terug te geven aan de procesregisseur.",
    ),
    Text("'role' must be one of {roles}", "'role' moet een van {roles} zijn"),
    Text(
        "'contact' must be an object with name, phone and/or email",
        "'contact' moet een object zijn met name, phone en/of email",
    ),
    Text(
        "'contact.{key}' must be a string of at most {limit} characters",
        "'contact.{key}' moet een tekst van hooguit {limit} tekens zijn",
    ),
    Text(
        "'children' must be a list of 1 to {limit} children",
        "'children' moet een lijst van 1 tot {limit} kinderen zijn",
    ),
    Text(
        "children[{n}] must be an object with 'child_ref' and either 'bsn' or 'identifier' "
        "(a child without a BSN)",
        "children[{n}] moet een object zijn met 'child_ref' en 'bsn' of 'identifier' (een kind "
        "zonder BSN)",
    ),
    Text(
        "children[{n}].child_ref must be a short opaque reference (letters, digits, '-', '_'; "
        "nothing that could be a BSN, such as 8 or more digits in a row)",
        "children[{n}].child_ref moet een kort, betekenisloos kenmerk zijn (letters, cijfers, "
        "'-', '_'; niets dat een BSN kan zijn, zoals 8 of meer cijfers achter elkaar)",
    ),
    Text("each child needs its own child_ref", "elk kind heeft een eigen child_ref nodig"),
    Text(
        "the body must be {{bsn | identifier, status, action_description?}}",
        "de body moet {{bsn | identifier, status, action_description?}} zijn",
    ),
    Text(
        "'status' and one of 'bsn' or 'identifier' are required",
        "'status' en een van 'bsn' of 'identifier' zijn verplicht",
    ),
    Text(
        "'reported_via' (direct or beschermingstafel) applies to a certified institution only",
        "'reported_via' (direct of beschermingstafel) geldt alleen voor een gecertificeerde "
        "instelling",
    ),
    # -- birth dates (gateway/web/birth_dates.py) ---------------------------------------------------
    Text(
        "the body must be an object with exactly 'subject', 'birth_date', 'case_id' and 'reason'",
        "de body moet een object zijn met precies 'subject', 'birth_date', 'case_id' en 'reason'",
    ),
    Text(
        "Send {{subject: {{bsn}} or {{identifier}}, birth_date: YYYY-MM-DD, case_id, reason: "
        "one of {reasons}}}.",
        "Stuur {{subject: {{bsn}} of {{identifier}}, birth_date: YYYY-MM-DD, case_id, reason: "
        "een van {reasons}}}.",
    ),
    Text("'reason' must be one of {reasons}", "'reason' moet een van {reasons} zijn"),
    Text(
        "Give the reason as one of the codes; free text is not kept.",
        "Geef de reden als een van de codes; vrije tekst wordt niet bewaard.",
    ),
    Text(
        "'birth_date' must be a date as YYYY-MM-DD",
        "'birth_date' moet een datum zijn als JJJJ-MM-DD (YYYY-MM-DD)",
    ),
    Text("'birth_date' is not a calendar date", "'birth_date' is geen bestaande datum"),
    Text("'birth_date' lies in the future", "'birth_date' ligt in de toekomst"),
    Text("'case_id' must be a case id", "'case_id' moet een casus-id zijn"),
    # -- the audit API (gateway/web/audit.py, gateway/audit/proofs.py) ---------------------------
    Text(
        "the body must be {{justified: true|false, note: '...'}}",
        "de body moet {{justified: true|false, note: '...'}} zijn",
    ),
    Text(
        "'note' must be a string of at most 1000 characters",
        "'note' moet een tekst van hooguit 1000 tekens zijn",
    ),
    Text(
        "tree_size {size} is larger than the latest checkpoint ({integrated})",
        "tree_size {size} is groter dan het laatste checkpoint ({integrated})",
    ),
    Text(
        "Ask for a tree size no larger than the size in GET /v1/audit/checkpoint.",
        "Vraag om een boomgrootte die niet groter is dan de grootte in GET /v1/audit/checkpoint.",
    ),
    Text("index must be smaller than tree_size", "index moet kleiner zijn dan tree_size"),
    Text(
        "second {second} is larger than the latest checkpoint ({integrated})",
        "second {second} is groter dan het laatste checkpoint ({integrated})",
    ),
    Text(
        "Ask for sizes no larger than the size in GET /v1/audit/checkpoint.",
        "Vraag om groottes die niet groter zijn dan de grootte in GET /v1/audit/checkpoint.",
    ),
    Text(
        "first must be at least 1: RFC 9162 defines no consistency proof from the empty tree",
        "first moet minstens 1 zijn: RFC 9162 kent geen consistentiebewijs vanaf de lege boom",
    ),
    Text(
        "Ask for 0 < first <= second; every tree trivially extends the empty one.",
        "Vraag om 0 < first <= second; elke boom breidt de lege boom vanzelf uit.",
    ),
    Text("first must not be larger than second", "first mag niet groter zijn dan second"),
    # -- erasing a subject's link (gateway/audit/erasure.py, gateway/web/audit.py) ---------------
    Text(
        "only the privacy officer who oversees every organisation may erase a subject's link",
        "alleen de privacyfunctionaris die toezicht houdt op alle organisaties mag de koppeling "
        "van een persoon wissen",
    ),
    Text(
        "The link leads to the records of every organisation; ask the gateway operator's privacy "
        'officer (oversees = "all" in partners.toml).',
        "De koppeling leidt naar de gegevens van alle organisaties; vraag het de "
        'privacyfunctionaris van de beheerder van de gateway (oversees = "all" in partners.toml).',
    ),
    Text(
        "'reason' must name why the link is erased",
        "'reason' moet noemen waarom de koppeling wordt gewist",
    ),
    Text("Give one of: {codes}.", "Geef een van: {codes}."),
    Text(
        "the gateway holds no link for this person",
        "de gateway heeft geen koppeling voor deze persoon",
    ),
    Text(
        "Nothing leads from this number to any record: it was never used here, or its link was "
        "erased before.",
        "Niets leidt van dit nummer naar gegevens: het is hier nooit gebruikt, of de koppeling is "
        "eerder gewist.",
    ),
    Text(
        "the body must be {{subject: {{bsn: '...'}} or {{identifier: {{...}}}}, reason: '...'}}",
        "de body moet {{subject: {{bsn: '...'}} of {{identifier: {{...}}}}, reason: '...'}} zijn",
    ),
    Text(
        "Name the person as an exchange does and give the reason code (see the OpenAPI).",
        "Noem de persoon zoals een bericht dat doet en geef de code van de reden (zie de OpenAPI).",
    ),
    # -- storage (gateway/store/) ----------------------------------------------------------------
    Text(
        "storage {action:phrase} failed: {kind}",
        "opslag: {action:phrase} mislukt: {kind}",
    ),
    Text("connection", "verbinding maken"),
    Text("migration", "migratie"),
    Text("storage read failed: {kind}", "lezen uit de opslag mislukt: {kind}"),
    Text("storage write failed: {kind}", "schrijven naar de opslag mislukt: {kind}"),
    Text(
        "storage check failed: {name} ({problem})",
        "controle van de opslag mislukt: {name} ({problem})",
    ),
)
