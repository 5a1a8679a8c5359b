"""Dutch for the rest of the API's refusals: each code's default `how_to_fix`, the subject's
identification, tokens and limits, the middleware's answers, cases, inbox and audit."""

from __future__ import annotations

from typing import Final

from gateway.i18n.catalogue import Text

__all__ = ["API_TEXTS"]

API_TEXTS: Final = (
    # -- the default how_to_fix of each code (gateway/errors.py) ---------------------------------
    Text(
        "Send a JSON object with the fields the API documentation lists.",
        "Stuur een JSON-object met de velden die de API-documentatie noemt.",
    ),
    Text(
        "Give the subject's BSN as 9 digits that pass the elfproef.",
        "Geef het BSN van de persoon als 9 cijfers die de elfproef doorstaan.",
    ),
    Text(
        "Get a new access token at POST /v1/token and send it as 'Bearer'.",
        "Haal een nieuw toegangstoken op bij POST /v1/token en stuur het mee als 'Bearer'.",
    ),
    Text(
        "Use a purpose id from the catalogue (GET /v1/purposes lists them).",
        "Gebruik een doel-id uit de catalogus (GET /v1/purposes toont ze).",
    ),
    Text(
        "Check the identifiers in the path (GET /v1/openapi.json lists the paths).",
        "Controleer de id's in het pad (GET /v1/openapi.json toont de paden).",
    ),
    Text(
        "Send the whole request at once, without pauses between its parts.",
        "Stuur het hele verzoek in één keer, zonder pauzes tussen de delen.",
    ),
    Text(
        "Send a smaller body; minimal datasets are small by design.",
        "Stuur een kleinere body; minimale gegevenssets zijn klein van opzet.",
    ),
    Text(
        "Retry after the number of seconds in Retry-After.",
        "Probeer het opnieuw na het aantal seconden in Retry-After.",
    ),
    # -- the middleware's own answers (gateway/web/middleware.py) --------------------------------
    Text(
        "the request body is larger than the gateway accepts",
        "de body van het verzoek is groter dan de gateway aanneemt",
    ),
    Text("no such resource", "deze resource bestaat niet"),
    Text(
        "Check the path against /v1/openapi.json.",
        "Controleer het pad aan de hand van /v1/openapi.json.",
    ),
    Text("method {method} is not allowed here", "methode {method} is hier niet toegestaan"),
    Text("Use one of: {methods}.", "Gebruik een van: {methods}."),
    Text(
        "the gateway failed to handle this request",
        "de gateway kon dit verzoek niet afhandelen",
    ),
    Text(
        "Retry later; if it persists, give the operator the request id {request_id}",
        "Probeer het later opnieuw; blijft het misgaan, geef de beheerder dan het request-id "
        "{request_id}",
    ),
    Text(
        "the request head did not arrive within {seconds} s",
        "de kop van het verzoek kwam niet binnen {seconds} s binnen",
    ),
    Text(
        "the request body did not arrive within {seconds} s",
        "de body van het verzoek kwam niet binnen {seconds} s binnen",
    ),
    # -- the subject: BSN and other identifiers (gateway/subject.py) ------------------------------
    Text(
        "subject.bsn must be a string of exactly 9 digits",
        "subject.bsn moet een tekst van precies 9 cijfers zijn",
    ),
    Text(
        "subject.bsn fails the elfproef (the BSN check digit test)",
        "subject.bsn doorstaat de elfproef niet (de controle van het BSN)",
    ),
    Text(
        "subject.identifier.value must be a string",
        "subject.identifier.value moet een tekst zijn",
    ),
    Text(
        "subject.identifier.value is not a valid {name}",
        "subject.identifier.value is geen geldige {name}",
    ),
    Text(
        "subject.identifier.value fails the {check} check digit test",
        "subject.identifier.value doorstaat de {check}-controle niet",
    ),
    Text(
        "Give the value as {name} prescribes: it must match {pattern} and pass the {check} "
        "check digit test.",
        "Geef de waarde zoals {name} voorschrijft: die moet voldoen aan {pattern} en de "
        "{check}-controle doorstaan.",
    ),
    Text(
        "Give the value as {name} prescribes: it must match {pattern}.",
        "Geef de waarde zoals {name} voorschrijft: die moet voldoen aan {pattern}.",
    ),
    Text(
        "'{where}' must be an object with exactly one field: 'bsn', or 'identifier' "
        '(an object {{"system", "value"}})',
        "'{where}' moet een object zijn met precies één veld: 'bsn', of 'identifier' "
        '(een object {{"system", "value"}})',
    ),
    Text(
        "'{where}.identifier' must be an object with exactly 'system' and 'value'",
        "'{where}.identifier' moet een object zijn met precies 'system' en 'value'",
    ),
    Text(
        "{where}.identifier.system {named}is not an identifier system of this gateway",
        "{where}.identifier.system {named}is geen identificatiestelsel van deze gateway",
    ),
    Text(
        "{where}.identifier.system is not an identifier system of this gateway",
        "{where}.identifier.system is geen identificatiestelsel van deze gateway",
    ),
    Text(
        'This gateway accepts a subject only as {{"bsn": "<9 digits>"}}.',
        'Deze gateway neemt een persoon alleen aan als {{"bsn": "<9 cijfers>"}}.',
    ),
    Text(
        'Give {{"bsn": "<9 digits>"}}, or {{"identifier": {{"system", "value"}}}} with one of '
        "the identifier systems of the catalogue: {systems}.",
        'Geef {{"bsn": "<9 cijfers>"}}, of {{"identifier": {{"system", "value"}}}} met een van '
        "de identificatiestelsels uit de catalogus: {systems}.",
    ),
    Text(
        "identifier system '{system}' is not accepted for purpose(s) {purposes}",
        "identificatiestelsel '{system}' is niet toegestaan voor doel(en) {purposes}",
    ),
    Text(
        "The catalogue accepts it for: {purposes}. Identify the person by BSN for other purposes.",
        "De catalogus staat het toe voor: {purposes}. Identificeer de persoon voor andere doelen "
        "met het BSN.",
    ),
    # -- tokens, accounts, limits ----------------------------------------------------------------
    Text("a Bearer access token is required", "een Bearer-toegangstoken is vereist"),
    Text(
        "the access token's partner or key is no longer registered",
        "de partner of sleutel van het toegangstoken is niet meer geregistreerd",
    ),
    Text(
        "the key the access token was issued for has expired",
        "de sleutel waarvoor het toegangstoken is uitgegeven, is verlopen",
    ),
    Text("malformed access token", "onleesbaar toegangstoken"),
    Text("access token expired", "toegangstoken verlopen"),
    Text("access token signature invalid", "handtekening van het toegangstoken ongeldig"),
    Text(
        "only privacy officers may use the audit API",
        "alleen privacyfunctionarissen mogen de audit-API gebruiken",
    ),
    Text(
        "Use an account of kind privacy_officer.",
        "Gebruik een account van de soort privacy_officer.",
    ),
    Text(
        "a privacy officer account may only use /v1/audit",
        "een account van een privacyfunctionaris mag alleen /v1/audit gebruiken",
    ),
    Text(
        "Use a partner account to exchange messages.",
        "Gebruik een partneraccount om berichten uit te wisselen.",
    ),
    Text(
        "too many requests from partner '{partner}' or this actor",
        "te veel verzoeken van partner '{partner}' of deze medewerker",
    ),
    Text(
        "Slow down: retry after {seconds} s (limits per partner kind are in the gateway's "
        "configuration).",
        "Doe het rustiger aan: probeer het na {seconds} s opnieuw (de limieten per soort partner "
        "staan in de configuratie van de gateway).",
    ),
    Text("storage is not open", "de opslag is niet geopend"),
    # -- cases, inbox, purposes, audit -----------------------------------------------------------
    Text(
        "partner '{partner}' is not registered",
        "partner '{partner}' is niet geregistreerd",
    ),
    Text(
        "only the social team that directs the case registers its household",
        "alleen het sociaal team dat de regie over de casus voert registreert het huishouden",
    ),
    Text(
        "Ask the procesregisseur of the case to register the children.",
        "Vraag de procesregisseur van de casus de kinderen te registreren.",
    ),
    Text(
        "case '{case}' has no original referrer registered",
        "bij casus '{case}' is geen oorspronkelijke verwijzer geregistreerd",
    ),
    Text(
        "Register the referrer with PUT /v1/cases/{{case_id}}/network/{{partner_id}} and "
        '{{"role": "referrer"}}.',
        "Registreer de verwijzer met PUT /v1/cases/{{case_id}}/network/{{partner_id}} en "
        '{{"role": "referrer"}}.',
    ),
    Text("no such message in your inbox", "dit bericht staat niet in uw inbox"),
    Text(
        "It may have been acknowledged already; GET /v1/inbox lists what is waiting.",
        "Misschien is het al bevestigd; GET /v1/inbox toont wat klaarstaat.",
    ),
    Text("no such purpose", "dit doel bestaat niet"),
    Text("GET /v1/purposes lists the catalogue.", "GET /v1/purposes toont de catalogus."),
    Text("no such log entry", "deze logregel bestaat niet"),
    Text("no checkpoint has been signed yet", "er is nog geen checkpoint ondertekend"),
    Text("Retry in a second.", "Probeer het over een seconde opnieuw."),
    Text(
        "the tree is not integrated that far yet",
        "de boom is nog niet zo ver bijgewerkt",
    ),
    Text("no log entry of yours has that index", "geen logregel van u heeft die index"),
    Text(
        "that entry is not covered by a signed checkpoint yet",
        "die logregel valt nog niet onder een ondertekend checkpoint",
    ),
    Text(
        "no break-glass disclosure with that exchange id that you may review",
        "er is geen verstrekking zonder toestemming (break-glass) met die exchange-id die u mag "
        "beoordelen",
    ),
    Text(
        "GET /v1/audit/break-glass lists the uses of the organisations you oversee.",
        "GET /v1/audit/break-glass toont het gebruik door de organisaties waarop u toezicht houdt.",
    ),
    Text("no log entry {index} that you may see", "er is geen logregel {index} die u mag zien"),
    Text(
        "GET /v1/audit/checkpoint gives the log's size; entries that name none of the "
        "organisations you oversee are not shown to you.",
        "GET /v1/audit/checkpoint geeft de omvang van het log; logregels die geen van de "
        "organisaties noemen waarop u toezicht houdt, krijgt u niet te zien.",
    ),
    Text(
        "no break-glass disclosure with that exchange id",
        "er is geen verstrekking zonder toestemming (break-glass) met die exchange-id",
    ),
    Text("the log has no such entry", "het log heeft deze logregel niet"),
)
