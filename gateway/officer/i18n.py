"""Every text of the officer's workspace, in Dutch and in English.

Texts are looked up by key; a missing key is a bug and raises, so a page never shows a key
instead of a sentence. Purpose titles come from the catalogue, which carries both languages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["DEFAULT_LANGUAGE", "TEXTS", "Translator", "pick_language"]

DEFAULT_LANGUAGE = "nl"

# key: (English, Dutch)
TEXTS: dict[str, tuple[str, str]] = {
    # -- frame ---------------------------------------------------------------------------------
    "product": ("Privacy officer's workspace", "Werkplek privacyfunctionaris"),
    "skip": ("Skip to the content", "Naar de inhoud"),
    "nav.label": ("Workspace", "Werkplek"),
    "nav.overview": ("Overview", "Overzicht"),
    "nav.search": ("Search the log", "Log doorzoeken"),
    "nav.break_glass": ("Break-glass reviews", "Doorbraakbeoordelingen"),
    "nav.refusals": ("Refusal patterns", "Weigerpatronen"),
    "nav.report": ("Subject access report", "Inzageverslag"),
    "nav.erase": ("Erase a link", "Koppeling wissen"),
    "language.label": ("Language", "Taal"),
    "signed_in_as": ("Signed in as {actor} ({officer})", "Aangemeld als {actor} ({officer})"),
    "sign_out": ("Sign out", "Afmelden"),
    "oversees.all": (
        "You oversee: every organisation on the gateway, and the gateway's own entries.",
        "U houdt toezicht op: alle organisaties op de gateway, en de eigen vastleggingen van de gateway.",
    ),
    "oversees.some": (
        "You oversee: {names}. You see only entries in which one of these organisations is sender or recipient, and your own.",
        "U houdt toezicht op: {names}. U ziet alleen vastleggingen waarin een van deze organisaties afzender of ontvanger is, en uw eigen.",
    ),
    "times_utc": ("All times are UTC.", "Alle tijden zijn UTC."),
    "yes": ("yes", "ja"),
    "no": ("no", "nee"),
    "none": ("none", "geen"),
    "back_to_search": ("Back to the search", "Terug naar zoeken"),
    # -- sign-in -------------------------------------------------------------------------------
    "sign_in.title": ("Sign in", "Aanmelden"),
    "sign_in.intro": (
        "Sign in with the one-time link or code the operator gave you. A link works once, for 15 minutes.",
        "Meld u aan met de eenmalige link of code die u van de beheerder kreeg. Een link werkt één keer, 15 minuten lang.",
    ),
    "sign_in.confirm": (
        "You opened a sign-in link. Press the button to sign in; the link then stops working.",
        "U opende een aanmeldlink. Druk op de knop om u aan te melden; daarna werkt de link niet meer.",
    ),
    "sign_in.code": ("Sign-in code", "Aanmeldcode"),
    "sign_in.code_hint": (
        "The code is the part after token= in the link.",
        "De code is het deel na token= in de link.",
    ),
    "sign_in.button": ("Sign in", "Aanmelden"),
    "sign_in.ask_operator": (
        "No link? Ask the operator to run: gateway officer sign-in-link YOUR-ID --actor YOUR-NAME",
        "Geen link? Vraag de beheerder: gateway officer sign-in-link UW-ID --actor UW-NAAM",
    ),
    "signed_out": (
        "You are signed out. Your session no longer works, also not in another tab.",
        "U bent afgemeld. Uw sessie werkt niet meer, ook niet in een ander tabblad.",
    ),
    "sign_in.logged": (
        "Signing in, searching and viewing entries are recorded in the disclosure log.",
        "Aanmelden, zoeken en inzien worden vastgelegd in het verstrekkingenlog.",
    ),
    # -- errors --------------------------------------------------------------------------------
    "error.title": ("Not possible", "Niet mogelijk"),
    "error.400": ("The request is not valid", "Het verzoek is niet geldig"),
    "error.401": ("Please sign in", "Meld u aan"),
    "error.403": ("Not allowed", "Niet toegestaan"),
    "error.404": ("Not found", "Niet gevonden"),
    "error.405": ("Not allowed this way", "Zo niet toegestaan"),
    "error.413": ("Too large", "Te groot"),
    "error.500": ("Something went wrong", "Er ging iets mis"),
    "error.503": ("Temporarily unavailable", "Tijdelijk niet beschikbaar"),
    "error.what": ("What happened", "Wat er gebeurde"),
    "error.fix": ("What you can do", "Wat u kunt doen"),
    "error.to_sign_in": ("Go to the sign-in page", "Naar de aanmeldpagina"),
    "error.to_overview": ("Go to the overview", "Naar het overzicht"),
    "error.request_id": ("Request id for the operator", "Verzoeknummer voor de beheerder"),
    "error.not_signed_in": (
        "You are not signed in, or your session has ended.",
        "U bent niet aangemeld, of uw sessie is beëindigd.",
    ),
    "error.not_signed_in.fix": (
        "Open a new sign-in link from the operator. A Bearer token of the API does not open these pages.",
        "Open een nieuwe aanmeldlink van de beheerder. Een Bearer-token van de API opent deze pagina's niet.",
    ),
    "error.session_expired": (
        "Your session expired: after 8 hours without use, or 12 hours after signing in.",
        "Uw sessie is verlopen: na 8 uur zonder gebruik, of 12 uur na het aanmelden.",
    ),
    "error.session_expired.fix": (
        "Ask the operator for a new sign-in link.",
        "Vraag de beheerder om een nieuwe aanmeldlink.",
    ),
    "error.link_unusable": (
        "This sign-in link or code is unknown, was used already, or has expired.",
        "Deze aanmeldlink of -code is onbekend, al gebruikt, of verlopen.",
    ),
    "error.link_unusable.fix": (
        "Ask the operator for a new link; each link works once, for 15 minutes.",
        "Vraag de beheerder om een nieuwe link; elke link werkt één keer, 15 minuten lang.",
    ),
    "error.not_officer": (
        "This account is not a registered privacy officer.",
        "Dit account is geen geregistreerde privacyfunctionaris.",
    ),
    "error.not_officer.fix": (
        "Only accounts of kind privacy_officer can use the workspace.",
        "Alleen accounts van de soort privacy_officer kunnen de werkplek gebruiken.",
    ),
    "error.csrf": (
        "The form was refused: its security token is missing or belongs to another session.",
        "Het formulier is geweigerd: het beveiligingstoken ontbreekt of hoort bij een andere sessie.",
    ),
    "error.csrf.fix": (
        "Reload the page and submit the form again.",
        "Laad de pagina opnieuw en verstuur het formulier nog eens.",
    ),
    "error.not_found": ("There is no such page or entry.", "Deze pagina of regel bestaat niet."),
    "error.not_found.fix": ("Use the menu to go on.", "Ga verder via het menu."),
    "error.internal": (
        "The workspace failed to handle this request.",
        "De werkplek kon dit verzoek niet afhandelen.",
    ),
    "error.internal.fix": (
        "Try again later; if it persists, give the operator the request id below.",
        "Probeer het later opnieuw; blijft het, geef de beheerder dan het verzoeknummer hieronder.",
    ),
    # -- overview ------------------------------------------------------------------------------
    "overview.title": ("Overview", "Overzicht"),
    "integrity.title": ("Integrity of the log", "Integriteit van het log"),
    "integrity.verified": (
        "Verified: the latest checkpoint's signature is valid and its root matches the stored tree.",
        "Geverifieerd: de handtekening van het laatste controlepunt klopt en de root komt overeen met de opgeslagen boom.",
    ),
    "integrity.failed": ("NOT verified: {problem}", "NIET geverifieerd: {problem}"),
    "integrity.none": (
        "No checkpoint has been signed yet.",
        "Er is nog geen controlepunt ondertekend.",
    ),
    "integrity.size": ("Entries covered", "Vastgelegde regels"),
    "integrity.time": ("Signed at", "Ondertekend op"),
    "integrity.root": ("Root hash", "Root-hash"),
    "integrity.pending": ("Entries not yet covered", "Nog niet vastgelegde regels"),
    "integrity.bad_signature": (
        "the checkpoint's signature does not verify with the gateway's log keys",
        "de handtekening van het controlepunt klopt niet met de logsleutels van de gateway",
    ),
    "integrity.bad_root": (
        "the stored tree does not lead to the checkpoint's root hash",
        "de opgeslagen boom leidt niet tot de root-hash van het controlepunt",
    ),
    "integrity.missing_nodes": (
        "the stored tree misses nodes the checkpoint covers",
        "de opgeslagen boom mist knopen die het controlepunt dekt",
    ),
    "period.label": ("Period", "Periode"),
    "period.days": ("last {days} days", "laatste {days} dagen"),
    "period.show": ("Show", "Toon"),
    "period.range": ("From {since} up to and including {until}", "Van {since} tot en met {until}"),
    "overview.totals": ("Totals in this period", "Totalen in deze periode"),
    "overview.by_purpose": ("Per purpose", "Per doel"),
    "overview.by_partner": ("Per partner (sender)", "Per partner (afzender)"),
    "overview.all": ("All exchanges per day", "Alle uitwisselingen per dag"),
    "overview.nothing": (
        "Nothing was shared or refused in this period.",
        "In deze periode is niets gedeeld of geweigerd.",
    ),
    "overview.pending_reviews": (
        "Break-glass uses waiting for review: {count}",
        "Doorbraken die op beoordeling wachten: {count}",
    ),
    "series.disclosed": ("Disclosures", "Verstrekkingen"),
    "series.refused": ("Refusals", "Weigeringen"),
    "series.break_glass": ("Break-glass uses", "Doorbraken"),
    "chart.desc": (
        "{what} per day from {first} to {last}: {disclosed} disclosures, {refused} refusals, {break_glass} break-glass uses. Busiest day: {busiest} ({busiest_count}).",
        "{what} per dag van {first} tot {last}: {disclosed} verstrekkingen, {refused} weigeringen, {break_glass} doorbraken. Drukste dag: {busiest} ({busiest_count}).",
    ),
    "chart.empty": (
        "{what}: nothing in this period.",
        "{what}: niets in deze periode.",
    ),
    "table.purpose": ("Purpose", "Doel"),
    "table.partner": ("Partner", "Partner"),
    "table.chart": ("Per day", "Per dag"),
    # -- search --------------------------------------------------------------------------------
    "search.title": ("Search the disclosure log", "Het verstrekkingenlog doorzoeken"),
    "search.intro": (
        "The BSN is turned into the log's pseudonym on the server. It is not stored and not shown again. Every search is recorded in the log.",
        "Het BSN wordt op de server omgezet in het pseudoniem van het log. Het wordt niet bewaard en niet opnieuw getoond. Elke zoekopdracht wordt in het log vastgelegd.",
    ),
    "search.system": ("Kind of number", "Soort nummer"),
    "search.system_bsn": ("BSN", "BSN"),
    "search.bsn": ("Number of the person", "Nummer van de persoon"),
    "search.bsn_hint": (
        "a BSN is 9 digits; leave empty for everyone",
        "een BSN is 9 cijfers; leeg laten voor iedereen",
    ),
    "search.partner": ("Partner (sender or recipient)", "Partner (afzender of ontvanger)"),
    "search.purpose": ("Purpose", "Doel"),
    "search.decision": ("Decision", "Besluit"),
    "search.since": ("From date", "Vanaf datum"),
    "search.until": ("Up to and including date", "Tot en met datum"),
    "search.any": ("any", "alle"),
    "search.button": ("Search", "Zoeken"),
    "search.results": ("Results", "Resultaten"),
    "search.by_subject": (
        "Showing entries about the person you searched for.",
        "Regels over de persoon naar wie u zocht.",
    ),
    "search.none": ("No entries match.", "Geen regels gevonden."),
    "search.next": ("Next page", "Volgende pagina"),
    "search.count": ("{count} entries on this page", "{count} regels op deze pagina"),
    "search.bad_date": (
        "'{field}' must be a date such as 2026-11-25.",
        "'{field}' moet een datum zijn zoals 2026-11-25.",
    ),
    "search.bad_bsn": (
        "The BSN must be 9 digits that pass the elfproef.",
        "Het BSN moet uit 9 cijfers bestaan die de elfproef doorstaan.",
    ),
    "search.bad_number": (
        "The number does not have the form of the chosen kind of number.",
        "Het nummer heeft niet de vorm van het gekozen soort nummer.",
    ),
    "search.bad_choice": (
        "'{field}' holds a value the search does not know.",
        "'{field}' bevat een waarde die het zoeken niet kent.",
    ),
    "search.fix": ("Correct the form and search again.", "Verbeter het formulier en zoek opnieuw."),
    "col.index": ("No.", "Nr."),
    "col.time": ("Time (UTC)", "Tijd (UTC)"),
    "col.decision": ("Decision", "Besluit"),
    "col.reason": ("Reason", "Reden"),
    "col.purpose": ("Purpose", "Doel"),
    "col.from": ("From", "Van"),
    "col.to": ("To", "Aan"),
    "col.break_glass": ("Break-glass", "Doorbraak"),
    "col.count": ("Count", "Aantal"),
    "col.hint": ("What would help", "Wat zou helpen"),
    "col.total": ("Total", "Totaal"),
    "col.fields": ("Information shared", "Gedeelde gegevens"),
    "col.basis": ("Basis", "Grondslag"),
    "open_entry": ("Open entry {index}", "Open regel {index}"),
    # -- entry ---------------------------------------------------------------------------------
    "entry.title": ("Log entry {index}", "Logregel {index}"),
    "entry.fields": ("What the log holds", "Wat het log bevat"),
    "entry.leaf": ("The exact bytes of the leaf", "De exacte bytes van het blad"),
    "entry.leaf_hash": (
        "Leaf hash (SHA-256 of 0x00 and the bytes)",
        "Blad-hash (SHA-256 van 0x00 en de bytes)",
    ),
    "entry.proof": ("Inclusion proof", "Bewijs van opname"),
    "entry.proof_verified": (
        "Verified: this entry is in the log whose signed checkpoint covers {size} entries.",
        "Geverifieerd: deze regel zit in het log waarvan het ondertekende controlepunt {size} regels dekt.",
    ),
    "entry.proof_failed": ("NOT verified: {problem}", "NIET geverifieerd: {problem}"),
    "entry.proof_pending": (
        "Not yet covered by a signed checkpoint; it will be within seconds. Reload the page.",
        "Nog niet gedekt door een ondertekend controlepunt; dat gebeurt binnen seconden. Laad de pagina opnieuw.",
    ),
    "entry.proof_hashes": ("Proof hashes (base64)", "Bewijshashes (base64)"),
    "entry.checkpoint": ("Checkpoint", "Controlepunt"),
    "entry.proof_mismatch": (
        "the proof does not lead from this entry to the signed root",
        "het bewijs leidt niet van deze regel naar de ondertekende root",
    ),
    "entry.view_logged": (
        "This view is recorded in the disclosure log.",
        "Dit inzien is vastgelegd in het verstrekkingenlog.",
    ),
    "field.index": ("Index", "Index"),
    "field.v": ("Format version", "Formaatversie"),
    "field.time": ("Time (UTC)", "Tijd (UTC)"),
    "field.decision": ("Decision", "Besluit"),
    "field.reason": ("Reason", "Reden"),
    "field.exchange_id": ("Exchange", "Uitwisseling"),
    "field.disclosure_id": ("Disclosure", "Verstrekking"),
    "field.purpose": ("Purpose", "Doel"),
    "field.legal_basis": ("Legal basis", "Grondslag"),
    "field.consent_id": ("Consent", "Toestemming"),
    "field.sender": ("Sender (partner, actor, role)", "Afzender (partner, medewerker, rol)"),
    "field.recipient": ("Recipient", "Ontvanger"),
    "field.subject": ("Person (pseudonym)", "Persoon (pseudoniem)"),
    "field.case_id": ("Case", "Casus"),
    "field.fields": ("Fields disclosed", "Verstrekte velden"),
    "field.payload_sha256": ("Payload digest (salted SHA-256)", "Inhoudshash (gezouten SHA-256)"),
    "field.break_glass": ("Break-glass", "Doorbraak"),
    "field.details": ("Details", "Details"),
    # -- break-glass ---------------------------------------------------------------------------
    "bg.title": ("Break-glass reviews", "Beoordeling van doorbraken"),
    "bg.intro": (
        "Each disclosure made without consent or statute under the meldcode waits here for your judgement. Your review is recorded in the log.",
        "Elke verstrekking zonder toestemming of wettelijke grondslag onder de meldcode wacht hier op uw oordeel. Uw beoordeling wordt in het log vastgelegd.",
    ),
    "bg.none": ("There are no break-glass disclosures.", "Er zijn geen doorbraken."),
    "bg.pending": ("Waiting for review", "Wacht op beoordeling"),
    "bg.reviewed": ("Reviewed", "Beoordeeld"),
    "bg.item": ("{purpose} by {sender} on {time}", "{purpose} door {sender} op {time}"),
    "bg.actor": ("Professional", "Medewerker"),
    "bg.justification": ("Justification", "Rechtvaardiging"),
    "bg.meldcode": ("Meldcode answers", "Antwoorden meldcode"),
    "bg.status": ("Status", "Status"),
    "bg.status.pending": ("waiting for review", "wacht op beoordeling"),
    "bg.status.justified": ("justified", "terecht"),
    "bg.status.unjustified": ("not justified", "onterecht"),
    "bg.reviewed_by": ("Reviewed by {by} on {at}", "Beoordeeld door {by} op {at}"),
    "bg.note": ("Note", "Toelichting"),
    "bg.judgement": ("Your judgement", "Uw oordeel"),
    "bg.justified": ("Justified", "Terecht"),
    "bg.unjustified": ("Not justified", "Onterecht"),
    "bg.save": ("Save review", "Beoordeling opslaan"),
    "bg.saved": (
        "Your review was saved and logged.",
        "Uw beoordeling is opgeslagen en vastgelegd.",
    ),
    "bg.choose": ("Choose justified or not justified.", "Kies terecht of onterecht."),
    "bg.note_too_long": (
        "The note may hold at most 1000 characters.",
        "De toelichting mag hoogstens 1000 tekens bevatten.",
    ),
    "bg.exchange": ("Exchange {exchange}", "Uitwisseling {exchange}"),
    "meldcode.interest_served": ("Interest served", "Gediend belang"),
    "meldcode.no_other_way": ("No other way", "Geen andere weg"),
    "meldcode.consent_not_possible": (
        "Why consent was not possible",
        "Waarom toestemming niet kon",
    ),
    "meldcode.proportionate": ("Proportionate", "Proportioneel"),
    "meldcode.minimal_information": ("Minimal information", "Minimale gegevens"),
    # -- refusals ------------------------------------------------------------------------------
    "ref.title": ("Refusal patterns", "Weigerpatronen"),
    "ref.intro": (
        "Which partners are refused most, and why. Refusals that repeat are where consent forms, agreements or software need attention: privacy law is rarely the real obstacle.",
        "Welke partners het vaakst geweigerd worden, en waarom. Terugkerende weigeringen laten zien waar toestemmingsformulieren, afspraken of software aandacht nodig hebben: de privacywet is zelden het echte obstakel.",
    ),
    "ref.by_partner": ("Refusals per partner and reason", "Weigeringen per partner en reden"),
    "ref.repeated": (
        "Repeated refusals of the same kind",
        "Herhaalde weigeringen van dezelfde soort",
    ),
    "ref.none": ("No refusals in this period.", "Geen weigeringen in deze periode."),
    "ref.none_repeated": (
        "No refusal repeated in this period.",
        "Geen herhaalde weigering in deze periode.",
    ),
    "ref.unknown": ("(unknown)", "(onbekend)"),
    "reason.consent_required": ("Consent required", "Toestemming vereist"),
    "reason.sender_not_allowed": ("Sender not allowed", "Afzender niet toegestaan"),
    "reason.recipient_not_allowed": ("Recipient not allowed", "Ontvanger niet toegestaan"),
    "reason.unknown_recipient": ("Unknown recipient", "Onbekende ontvanger"),
    "reason.unknown_purpose": ("Unknown purpose", "Onbekend doel"),
    "reason.break_glass_not_allowed": ("Break-glass not allowed", "Doorbraak niet toegestaan"),
    "reason.relation_required": (
        "No relation to the person",
        "Geen relatie met de persoon",
    ),
    "reason.schema_violation": (
        "Message not in the agreed form",
        "Bericht niet in de afgesproken vorm",
    ),
    "reason.payload_not_minimal": ("More data than allowed", "Meer gegevens dan toegestaan"),
    "reason.invalid_request": ("Reply without an open request", "Antwoord zonder open verzoek"),
    "reason.consent_invalid": (
        "Givers do not fit the held birth date",
        "Gevers passen niet bij de bekende geboortedatum",
    ),
    "reason.not_found": (
        "Case the sender is not a member of",
        "Casus waarvan de afzender geen lid is",
    ),
    "reason.consent_scope_not_allowed": (
        "Consent recorded for others",
        "Toestemming vastgelegd voor anderen",
    ),
    "reason.birth_date_mismatch": (
        "Birth date contradicts the one held",
        "Geboortedatum wijkt af van de bekende",
    ),
    "reason.other": ("Other reason", "Andere reden"),
    "hint.consent_required": (
        "Consent forms or agreements needed: record the family's consent for this purpose and recipient, or agree on a statutory route.",
        "Toestemmingsformulieren of afspraken nodig: leg de toestemming van het gezin vast voor dit doel en deze ontvanger, of spreek een wettelijke route af.",
    ),
    "hint.sender_not_allowed": (
        "This organisation or role may not send this purpose: check who should send it, or whether the catalogue needs another purpose.",
        "Deze organisatie of rol mag dit doel niet versturen: ga na wie het hoort te sturen, of de catalogus een ander doel nodig heeft.",
    ),
    "hint.recipient_not_allowed": (
        "This kind of recipient may not receive this purpose: agree on the right purpose or recipient with the partners.",
        "Dit soort ontvanger mag dit doel niet ontvangen: spreek met de partners het juiste doel of de juiste ontvanger af.",
    ),
    "hint.unknown_recipient": (
        "The recipient is not registered or the case network is empty: register the partner or the case network.",
        "De ontvanger is niet geregistreerd of het casusnetwerk is leeg: registreer de partner of het casusnetwerk.",
    ),
    "hint.unknown_purpose": (
        "The partner's software uses a purpose the catalogue does not know: have it use the catalogue's purpose ids.",
        "De software van de partner gebruikt een doel dat de catalogus niet kent: laat het de doelen uit de catalogus gebruiken.",
    ),
    "hint.break_glass_not_allowed": (
        "Break-glass was asked for a purpose that does not allow it: training on the meldcode helps.",
        "Er werd een doorbraak gevraagd voor een doel dat dat niet toestaat: scholing over de meldcode helpt.",
    ),
    "hint.relation_required": (
        "Partners report on people they have no recorded relation with: the social team refers "
        "the person, or registers the partner in the case and the child in its household.",
        "Partners berichten over personen met wie zij geen vastgelegde relatie hebben: het "
        "sociaal team verwijst de persoon, of registreert de partner in de casus en het kind in "
        "het huishouden.",
    ),
    "hint.schema_violation": (
        "Messages do not fit the minimal dataset: the partner's software needs fixing.",
        "Berichten passen niet in de minimale gegevensset: de software van de partner moet worden aangepast.",
    ),
    "hint.payload_not_minimal": (
        "More data is sent than the purpose allows: the partner's software sends extra fields.",
        "Er worden meer gegevens gestuurd dan het doel toestaat: de software van de partner stuurt extra velden.",
    ),
    "hint.invalid_request": (
        "Replies arrive for requests that are not open: agree on when to reply, and reply to the request itself.",
        "Er komen antwoorden op verzoeken die niet openstaan: spreek af wanneer u antwoordt, en antwoord op het verzoek zelf.",
    ),
    "hint.not_found": (
        "Partners name cases they are not a member of: the social team that directs the case "
        "registers the partners that work in it.",
        "Partners noemen casussen waarvan zij geen lid zijn: het sociaal team dat de casus regisseert "
        "registreert de partners die erin werken.",
    ),
    "hint.consent_invalid": (
        "Consents name givers that do not fit the birth date the gateway holds: check the birth "
        "date with the family, or have the case's director correct it.",
        "Toestemmingen noemen gevers die niet passen bij de geboortedatum die de gateway kent: "
        "controleer de geboortedatum met het gezin, of laat de regisseur van de casus die corrigeren.",
    ),
    "hint.other": (
        "Look at a few of these entries in the log to see what goes wrong.",
        "Bekijk enkele van deze regels in het log om te zien wat er misgaat.",
    ),
    # -- subject access report -----------------------------------------------------------------
    "report.title": ("Subject access report (AVG art. 15)", "Inzageverslag (AVG art. 15)"),
    "report.form_intro": (
        "Type the person's BSN to make a printable report of everything the log holds about them. Making it is recorded in the log.",
        "Typ het BSN van de persoon om een afdrukbaar verslag te maken van alles wat het log over hem of haar bevat. Het maken wordt in het log vastgelegd.",
    ),
    "report.button": ("Make the report", "Verslag maken"),
    "report.made": (
        "Made on {date} by {officer} ({actor}).",
        "Opgesteld op {date} door {officer} ({actor}).",
    ),
    "report.explain": (
        "It lists every recorded exchange of information about this person through the gateway: who shared what kind of information with whom, when, why and on which basis. The gateway does not keep the contents of messages, so they are not shown.",
        "Het bevat elke vastgelegde uitwisseling van gegevens over deze persoon via de gateway: wie welke soort gegevens met wie deelde, wanneer, waarom en op welke grondslag. De gateway bewaart de inhoud van berichten niet; die staat er dus niet in.",
    ),
    "report.count": ("Number of records: {count}", "Aantal vastleggingen: {count}"),
    "report.none": (
        "The log holds nothing about this person.",
        "Het log bevat niets over deze persoon.",
    ),
    "report.print": (
        "Use your browser's print command to print or save this report.",
        "Gebruik de afdrukopdracht van uw browser om dit verslag af te drukken of op te slaan.",
    ),
    "report.gateway": ("the gateway", "de gateway"),
    "basis.statute": ("statute", "wettelijke grondslag"),
    "basis.consent": ("consent", "toestemming"),
    "basis.break_glass": ("break-glass", "doorbraak"),
    # -- erasure (AVG art. 17) -----------------------------------------------------------------
    "erase.title": (
        "Erase a person's link to the records (AVG art. 17)",
        "Koppeling van een persoon aan de gegevens wissen (AVG art. 17)",
    ),
    "erase.intro": (
        "Erasure removes for good the link from a person's number to everything the gateway recorded about them. The erasure is recorded in the log with you, the time and the reason; the person is not named in it.",
        "Wissen verwijdert definitief de koppeling van het nummer van een persoon naar alles wat de gateway over hem of haar vastlegde. Het wissen wordt in het log vastgelegd met u, het tijdstip en de reden; de persoon wordt daarin niet genoemd.",
    ),
    "erase.does": ("What erasure does", "Wat wissen doet"),
    "erase.does.link": (
        "The link from the person to their log entries is removed for good. No search and no subject access report by this number finds those entries again; a later exchange about the person starts under a new, unrelated pseudonym.",
        "De koppeling van de persoon naar zijn of haar logregels wordt definitief verwijderd. Geen zoekopdracht en geen inzageverslag op dit nummer vindt die regels nog; een latere uitwisseling over de persoon begint onder een nieuw pseudoniem zonder verband met het oude.",
    ),
    "erase.does.records": (
        "The person's consents (with the names of who gave them), the birth date the gateway holds, household registrations in cases and expectations (replies still owed) are deleted. A new exchange that needs consent is refused until consent is recorded again.",
        "De toestemmingen van de persoon (met de namen van wie ze gaven), de geboortedatum die de gateway kent, registraties in het huishouden van een casus en verwachtingen (nog verschuldigde antwoorden) worden verwijderd. Een nieuwe uitwisseling die toestemming nodig heeft, wordt geweigerd tot er opnieuw toestemming is vastgelegd.",
    ),
    "erase.does.final": (
        "Erasure cannot be undone: the gateway keeps no copy of the link.",
        "Wissen is niet terug te draaien: de gateway bewaart geen kopie van de koppeling.",
    ),
    "erase.keeps": ("What erasure does not do", "Wat wissen niet doet"),
    "erase.keeps.log": (
        "The log entries stay as they are: they are the accountability record. Whoever reads the log sees that one pseudonym had these exchanges, not who it was.",
        "De logregels blijven zoals ze zijn: ze zijn de verantwoording. Wie het log leest, ziet dat één pseudoniem deze uitwisselingen had, niet wie dat was.",
    ),
    "erase.keeps.legacy": (
        "Entries written before schema 9 of the gateway carry a pseudonym computed from the BSN with the gateway's key. The gateway's own searches no longer find them, but anyone holding that key (the operator, a backup of the key) can still find them by BSN.",
        "Regels van vóór schema 9 van de gateway dragen een pseudoniem dat met de sleutel van de gateway uit het BSN is berekend. De eigen zoekfuncties van de gateway vinden ze niet meer, maar wie die sleutel heeft (de beheerder, een back-up van de sleutel) kan ze nog steeds op BSN vinden.",
    ),
    "erase.keeps.elsewhere": (
        "Break-glass records stay until their own term ends. Messages still waiting in an inbox, what partners and the LDV logbook already received, and backups are not touched: tell the recipients yourself (AVG art. 17(2) and art. 19).",
        "Doorbraakdossiers blijven tot hun eigen termijn verstrijkt. Berichten die nog in een inbox wachten, wat partners en het LDV-logboek al ontvingen, en back-ups blijven onaangeroerd: informeer de ontvangers zelf (AVG art. 17 lid 2 en art. 19).",
    ),
    "erase.report_first": (
        "Need to know whom to inform? Make the subject access report first: after the erasure it finds nothing about this person.",
        "Wilt u weten wie u moet informeren? Maak eerst het inzageverslag: na het wissen vindt het niets meer over deze persoon.",
    ),
    "erase.form": ("Erase", "Wissen"),
    "erase.reason": ("Reason", "Reden"),
    "erase.reason.choose": ("choose a reason", "kies een reden"),
    "erase.reason.no_longer_necessary": (
        "No longer necessary for the purposes (AVG art. 17(1)(a))",
        "Niet langer nodig voor de doeleinden (AVG art. 17 lid 1 sub a)",
    ),
    "erase.reason.consent_withdrawn": (
        "The consent it rested on was withdrawn (AVG art. 17(1)(b))",
        "De toestemming waarop het berustte is ingetrokken (AVG art. 17 lid 1 sub b)",
    ),
    "erase.reason.objection": (
        "The person objected and no overriding ground applies (AVG art. 17(1)(c), art. 21)",
        "De persoon maakte bezwaar en er is geen zwaarwegender grond (AVG art. 17 lid 1 sub c, art. 21)",
    ),
    "erase.reason.unlawfully_processed": (
        "The data were processed unlawfully (AVG art. 17(1)(d))",
        "De gegevens zijn onrechtmatig verwerkt (AVG art. 17 lid 1 sub d)",
    ),
    "erase.reason.legal_obligation": (
        "Erasure is required by a legal obligation (AVG art. 17(1)(e))",
        "Wissen is verplicht op grond van een wettelijke verplichting (AVG art. 17 lid 1 sub e)",
    ),
    "erase.reason.retention_passed": (
        "The retention term for which the link was kept has passed",
        "De bewaartermijn waarvoor de koppeling werd bewaard is verstreken",
    ),
    "erase.confirm.legend": ("Confirmation", "Bevestiging"),
    "erase.confirm": (
        "I have read what erasure does and does not do, and I erase this person's link for good.",
        "Ik heb gelezen wat wissen wel en niet doet, en ik wis de koppeling van deze persoon definitief.",
    ),
    "erase.button": ("Erase the link for good", "Koppeling definitief wissen"),
    "erase.bad_reason": (
        "Choose the reason for the erasure.",
        "Kies de reden voor het wissen.",
    ),
    "erase.not_confirmed": (
        "Nothing was erased: tick the confirmation box to erase the link. Type the number again.",
        "Er is niets gewist: vink de bevestiging aan om de koppeling te wissen. Typ het nummer opnieuw.",
    ),
    "erase.done.title": ("Link erased", "Koppeling gewist"),
    "erase.done": (
        "The person's link to the records is erased. The erasure is recorded in the log as entry {index}, with you, the time and the reason ({reason}); the person is not named in it.",
        "De koppeling van de persoon aan de gegevens is gewist. Het wissen is in het log vastgelegd als regel {index}, met u, het tijdstip en de reden ({reason}); de persoon wordt daarin niet genoemd.",
    ),
    "erase.done.tell": (
        "Inform the recipients of the person's data of the erasure (AVG art. 19), and record the request and your decision in the municipality's own case system: the gateway logs only the reason.",
        "Informeer de ontvangers van de gegevens van de persoon over het wissen (AVG art. 19), en leg het verzoek en uw besluit vast in het eigen zaaksysteem van de gemeente: de gateway legt alleen de reden vast.",
    ),
    "erase.to_entry": ("Open log entry {index}", "Logregel {index} openen"),
    "erase.none.title": ("Nothing linked to this person", "Niets gekoppeld aan deze persoon"),
    "erase.none": (
        "The gateway holds no link for this number: it was never used here, or its link was erased before. Nothing was changed and nothing was logged.",
        "De gateway heeft geen koppeling voor dit nummer: het is hier nooit gebruikt, of de koppeling is al eerder gewist. Er is niets gewijzigd en niets vastgelegd.",
    ),
    "erase.again": ("Erase another link", "Nog een koppeling wissen"),
    # -- decisions -----------------------------------------------------------------------------
    "decision.disclosed": ("disclosed", "verstrekt"),
    "decision.refused": ("refused", "geweigerd"),
    "decision.delivered": ("delivered (receipt)", "afgeleverd (ontvangstbevestiging)"),
    "decision.purged": ("deleted unread after retention", "ongelezen verwijderd na bewaartermijn"),
    "decision.consent_recorded": ("consent recorded", "toestemming vastgelegd"),
    "decision.consent_withdrawn": ("consent withdrawn", "toestemming ingetrokken"),
    "decision.birth_date_corrected": ("birth date corrected", "geboortedatum gecorrigeerd"),
    "decision.token_issued": ("access token issued", "toegangstoken uitgegeven"),
    "decision.token_refused": ("access token refused", "toegangstoken geweigerd"),
    "decision.audit_access": (
        "looked at by a privacy officer",
        "ingezien door privacyfunctionaris",
    ),
    "decision.partners_reloaded": ("partners reloaded", "partners herladen"),
    "decision.break_glass_reviewed": ("break-glass reviewed", "doorbraak beoordeeld"),
    "decision.partners_reload_failed": ("partner reload failed", "herladen partners mislukt"),
    "decision.officer_link_issued": (
        "officer sign-in link issued",
        "aanmeldlink functionaris uitgegeven",
    ),
    "decision.officer_signed_in": ("officer signed in", "functionaris aangemeld"),
    "decision.officer_signed_out": ("officer signed out", "functionaris afgemeld"),
    "decision.case_opened": ("case opened", "casus geopend"),
    "decision.case_member_added": (
        "added to a case network",
        "toegevoegd aan casusnetwerk",
    ),
    "decision.case_member_changed": (
        "case network role changed",
        "rol in casusnetwerk gewijzigd",
    ),
    "decision.case_member_removed": (
        "removed from a case network",
        "verwijderd uit casusnetwerk",
    ),
    "decision.case_closed": ("case closed", "casus afgesloten"),
    "decision.case_reopened": ("case reopened", "casus heropend"),
    "decision.procesregie_handed_over": (
        "procesregie handed over",
        "procesregie overgedragen",
    ),
    "decision.child_direction_set": (
        "direction of a child's help set",
        "regie over hulp aan kind vastgelegd",
    ),
    "decision.household_child_registered": (
        "child registered in a case's household",
        "kind geregistreerd in huishouden van casus",
    ),
    "decision.urgent_escalated": (
        "urgent message not acknowledged in time",
        "urgent bericht niet op tijd bevestigd",
    ),
    "decision.records_removed": (
        "records removed after their retention",
        "gegevens verwijderd na bewaartermijn",
    ),
    "decision.subject_link_erased": (
        "a person's link to the records erased",
        "koppeling van een persoon aan de gegevens gewist",
    ),
}


def pick_language(*candidates: str | None) -> str:
    """The first candidate that is a workspace language, else Dutch."""
    for candidate in candidates:
        if candidate in ("nl", "en"):
            return candidate
    return DEFAULT_LANGUAGE


@dataclass(frozen=True, slots=True)
class Translator:
    """Looks texts up in one language: `t("search.title")`, `t("search.count", count=3)`."""

    language: str

    def __call__(self, key: str, **values: Any) -> str:
        english, dutch = TEXTS[key]
        text = dutch if self.language == "nl" else english
        return text.format(**values) if values else text

    def has(self, key: str) -> bool:
        return key in TEXTS

    def decision(self, decision: str) -> str:
        """A decision's name in words; a code this version does not know stays as it is."""
        key = f"decision.{decision}"
        return self(key) if key in TEXTS else decision

    def reason(self, reason: str | None) -> str:
        """A refusal code in words ("Consent required")."""
        key = f"reason.{reason}"
        return self(key) if key in TEXTS else (reason or self("ref.unknown"))

    def reason_of(self, decision: str, reason: str | None) -> str:
        """An entry's reason in words: a refusal's code, or the basis type of a disclosure."""
        if decision == "refused":
            return self.reason(reason)
        key = f"basis.{reason}"
        if decision == "disclosed" and key in TEXTS:
            return self(key)
        return reason or ""

    def hint(self, reason: str | None) -> str:
        """What would turn repeated refusals of this kind into lawful exchanges."""
        key = f"hint.{reason}"
        return self(key) if key in TEXTS else self("hint.other")
