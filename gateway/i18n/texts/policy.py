"""Dutch for the policy's refusals (`gateway/policy/`) and the "may I share?" explanations.

Reviewed wording: u-vorm in `how_to_fix`, the domain's own words (toestemming, grondslag,
gezagsdrager, casusnetwerk, procesregisseur, gecertificeerde instelling). Codes, ids and paths
stay as they are.
"""

from __future__ import annotations

from typing import Final

from gateway.i18n.catalogue import Text

__all__ = ["POLICY_TEXTS"]

POLICY_TEXTS: Final = (
    # -- decision.py: who may send, to whom, on which basis -----------------------------------
    Text(
        "purpose '{purpose}' is not in the catalogue",
        "doel '{purpose}' staat niet in de catalogus",
    ),
    Text(
        "a partner of kind '{kind}' may not send purpose '{purpose}'",
        "een partner van de soort '{kind}' mag doel '{purpose}' niet versturen",
    ),
    Text(
        "Only {kinds} may send it; choose the purpose that fits your role.",
        "Alleen partners van de soort(en) {kinds} mogen dit versturen; kies het doel dat bij uw rol past.",
    ),
    Text(
        "actor role '{role}' may not send purpose '{purpose}'",
        "een medewerker met de rol '{role}' mag doel '{purpose}' niet versturen",
    ),
    Text(
        "Let a professional with one of these roles send it: {roles}.",
        "Laat een professional met een van deze rollen het versturen: {roles}.",
    ),
    Text(
        "purpose '{purpose}' does not allow break-glass",
        "doel '{purpose}' staat doorbreken zonder toestemming (break-glass) niet toe",
    ),
    Text(
        "Share on the purpose's own basis (record consent first where it needs consent); "
        "break-glass exists only for safety reports.",
        "Deel op de eigen grondslag van het doel (leg eerst toestemming vast waar het doel die "
        "vraagt); doorbreken zonder toestemming (break-glass) bestaat alleen voor "
        "veiligheidsmeldingen.",
    ),
    Text(
        "there is no recipient to send to (the case network is empty)",
        "er is geen ontvanger om naar te versturen (het casusnetwerk is leeg)",
    ),
    Text(
        "Register the partners involved with PUT /v1/cases/{{case_id}}/network/{{partner_id}}.",
        "Registreer de betrokken partners met PUT /v1/cases/{{case_id}}/network/{{partner_id}}.",
    ),
    Text(
        "recipient '{recipient}' (kind '{kind}') may not receive purpose '{purpose}'",
        "ontvanger '{recipient}' (soort '{kind}') mag doel '{purpose}' niet ontvangen",
    ),
    Text(
        "Purpose '{purpose}' goes only to {kinds} (and never to the sender itself).",
        "Doel '{purpose}' gaat alleen naar partners van de soort(en) {kinds} (en nooit naar de afzender zelf).",
    ),
    Text(
        "recipient '{recipient}' is not a registered partner",
        "ontvanger '{recipient}' is geen geregistreerde partner",
    ),
    Text(
        "Check the partner id; GET /v1/partners lists the registered partners.",
        "Controleer de partner-id; GET /v1/partners toont de geregistreerde partners.",
    ),
    Text(
        "purpose '{purpose}' needs consent, and no active consent covers sending it from "
        "'{sender}' to '{recipient}' about this subject",
        "doel '{purpose}' vraagt toestemming, en geen geldige toestemming dekt het versturen van "
        "'{sender}' aan '{recipient}' over deze persoon",
    ),
    Text(
        "Record the consent of {givers:phrase} with POST /v1/consents (purposes ['{purpose}'], "
        "from ['{sender}'], to ['{recipient}'] or ['kind:{kind}']), then send again.",
        "Leg de toestemming van {givers:phrase} vast met POST /v1/consents (purposes "
        "['{purpose}'], from ['{sender}'], to ['{recipient}'] of ['kind:{kind}']) en verstuur "
        "het bericht daarna opnieuw.",
    ),
    # Where the client's agreement is missing, the ways without it (issue 19): the direction's
    # break-glass ground, and the purpose's alternative (the report to Veilig Thuis).
    Text(
        "Record the consent of {givers:phrase} with POST /v1/consents (purposes ['{purpose}'], "
        "from ['{sender}'], to ['{recipient}'] or ['kind:{kind}']), then send again. Without "
        "the agreement: {ways:list}.",
        "Leg de toestemming van {givers:phrase} vast met POST /v1/consents (purposes "
        "['{purpose}'], from ['{sender}'], to ['{recipient}'] of ['kind:{kind}']) en verstuur "
        "het bericht daarna opnieuw. Zonder die toestemming: {ways:list}.",
    ),
    Text(
        "in acute danger, where the client cannot be asked or asking would endanger the person, "
        "send again with break_glass (a justification and the meldcode's five answers, reviewed "
        "afterwards by the privacy officer)",
        "bij acuut gevaar, als de cliënt niet gevraagd kan worden of vragen de persoon in gevaar "
        "brengt, verstuur het opnieuw met break_glass (een onderbouwing en de antwoorden op de "
        "vijf vragen van de meldcode, achteraf beoordeeld door de functionaris "
        "gegevensbescherming)",
        joins=True,
    ),
    Text(
        "send purpose '{purpose}' to {kinds} instead, which needs no agreement",
        "verstuur in plaats daarvan doel '{purpose}' aan {kinds}, waarvoor geen toestemming "
        "nodig is",
        joins=True,
    ),
    Text(
        "the person (16 or older), or for a child the custodians (and from 12 the child too)",
        "de persoon zelf (16 jaar of ouder), of voor een kind de gezagsdragers (en vanaf 12 "
        "jaar ook het kind)",
    ),
    Text("the person themselves", "de persoon zelf"),
    # -- the "may I share?" answer: explanation of an allowed exchange -------------------------
    Text(
        "Purpose '{purpose}' may be shared with {recipients:list}.",
        "Doel '{purpose}' mag worden gedeeld met {recipients:list}.",
    ),
    Text(
        "{recipient}: on {basis:phrase} ({reference})",
        "{recipient}: op grond van {basis:phrase} ({reference})",
    ),
    Text(
        "{recipient}: on {basis:phrase} ({reference}), consent {consent}",
        "{recipient}: op grond van {basis:phrase} ({reference}), toestemming {consent}",
    ),
    Text("statute", "de wet"),
    Text("consent", "toestemming"),
    Text("break_glass", "doorbreking van het beroepsgeheim zonder toestemming (break-glass)"),
    # -- exchange_plan.py: a warning in the 201 answer ---------------------------------------
    Text(
        "no household is registered for this case: only the referred child is expected to get a "
        "safety assessment; register every child with PUT /v1/cases/{{case_id}}/household so "
        "none is missed",
        "voor deze casus is geen huishouden geregistreerd: alleen voor het verwezen kind wordt "
        "een veiligheidsbeoordeling verwacht; registreer elk kind met "
        "PUT /v1/cases/{{case_id}}/household, zodat er geen wordt gemist",
    ),
    # -- minimal.py: the minimal dataset ------------------------------------------------------
    Text(
        "the payload carries {count} field(s) that purpose '{purpose}' does not allow",
        "de payload bevat {count} veld(en) die doel '{purpose}' niet toestaat",
    ),
    Text(
        "Remove the fields named in 'violations'; send only the purpose's minimal dataset "
        "(GET /v1/purposes/{purpose} shows it).",
        "Verwijder de velden die in 'violations' staan; stuur alleen de minimale gegevensset "
        "van het doel (GET /v1/purposes/{purpose} toont die).",
    ),
    Text("field not allowed for this purpose", "veld niet toegestaan voor dit doel"),
    Text(
        "the payload does not match the schema of purpose '{purpose}'",
        "de payload voldoet niet aan het schema van doel '{purpose}'",
    ),
    Text(
        "Correct the fields named in 'violations'; the purpose's schema is at "
        "GET /v1/purposes/{purpose}.",
        "Verbeter de velden die in 'violations' staan; het schema van het doel staat op "
        "GET /v1/purposes/{purpose}.",
    ),
    Text(
        "missing required field(s): {fields}", "verplicht(e) veld(en) ontbreekt/ontbreken: {fields}"
    ),
    Text("value is not one of the allowed codes", "waarde is geen van de toegestane codes"),
    Text("must be of type {type}", "moet van het type {type} zijn"),
    Text("violates {rule} {limit}", "voldoet niet aan {rule} {limit}"),
    Text("does not have the required format", "heeft niet de vereiste vorm"),
    Text("fails the schema rule '{rule}'", "voldoet niet aan schemaregel '{rule}'"),
    # -- workflow.py: replies to a request -----------------------------------------------------
    Text(
        "purpose '{purpose}' answers a '{asked}': name it in 'in_reply_to'",
        "doel '{purpose}' beantwoordt een '{asked}': noem dat bericht in 'in_reply_to'",
    ),
    Text(
        "Set in_reply_to to the exchange id of the {asked} you answer "
        "(GET /v1/expectations lists what is asked of you).",
        "Zet in_reply_to op de exchange-id van de {asked} die u beantwoordt "
        "(GET /v1/expectations toont wat van u gevraagd wordt).",
    ),
    Text(
        "there is no open {asked} {exchange} for you to answer",
        "er staat geen open {asked} {exchange} voor u klaar om te beantwoorden",
    ),
    Text(
        "Answer an open request of yours (GET /v1/expectations?status=open); "
        "a request is answered once.",
        "Beantwoord een open verzoek aan u (GET /v1/expectations?status=open); een verzoek "
        "wordt één keer beantwoord.",
    ),
    Text(
        "the {asked} {exchange} asked about another person than this {purpose}",
        "de {asked} {exchange} ging over een andere persoon dan deze {purpose}",
    ),
    Text(
        "Answer a {asked} with a message about the person it asked about; a message about "
        "someone else is not its answer.",
        "Beantwoord een {asked} met een bericht over de persoon waarover gevraagd werd; een "
        "bericht over iemand anders is geen antwoord.",
    ),
    Text(
        "a {purpose} goes back to the partner that asked: '{owed_to}'",
        "een {purpose} gaat terug naar de partner die het vroeg: '{owed_to}'",
    ),
    Text("Send it to '{owed_to}' only.", "Stuur het alleen aan '{owed_to}'."),
    Text(
        "the reply answers {count} topic(s) the {asked} did not ask about",
        "het antwoord behandelt {count} onderwerp(en) waarnaar de {asked} niet vroeg",
    ),
    Text(
        "Answer only the topics asked: {topics}.",
        "Beantwoord alleen de gevraagde onderwerpen: {topics}.",
    ),
    Text("topic not asked in the request", "onderwerp niet gevraagd in het verzoek"),
    # -- cases.py: the case network ------------------------------------------------------------
    Text(
        "no case you are a member of has this id",
        "er is geen casus met deze id waarvan u lid bent",
    ),
    Text(
        "Check the case id; the social team that directs the case can register your "
        "organisation in its network.",
        "Controleer de casus-id; het sociaal team dat de regie over de casus voert kan uw "
        "organisatie in het casusnetwerk registreren.",
    ),
    Text(
        "{what} may not hold 8 or more digits in a row, nor nine digits that could be a BSN",
        "{what} mag geen 8 of meer cijfers achter elkaar bevatten, en ook geen negen cijfers "
        "die een BSN kunnen zijn",
    ),
    Text(
        "Use your own reference without any personal number in it.",
        "Gebruik uw eigen kenmerk zonder persoonsnummer erin.",
    ),
    Text(
        "only a social team opens a case",
        "alleen een sociaal team opent een casus",
    ),
    Text(
        "Ask the social team that directs the help for this family to open the case and "
        "register your organisation in its network.",
        "Vraag het sociaal team dat de regie over de hulp aan dit gezin voert de casus te "
        "openen en uw organisatie in het casusnetwerk te registreren.",
    ),
    # -- lifecycle.py: opening, closing and reopening a case --------------------------------------
    Text("'opened_on' must be one of {codes}", "'opened_on' moet een van {codes} zijn"),
    Text(
        "Give what the case was opened on as one of the codes.",
        "Geef als een van de codes op waarnaar de casus is geopend.",
    ),
    Text(
        "'opened_on_exchange' needs 'opened_on'",
        "'opened_on_exchange' vraagt ook om 'opened_on'",
    ),
    Text(
        'Say what the case was opened on, e.g. "opened_on": "referral".',
        'Geef aan waarnaar de casus is geopend, bijvoorbeeld "opened_on": "referral".',
    ),
    Text(
        "'opened_on_exchange' must be an exchange id the gateway gave, such as ex_...",
        "'opened_on_exchange' moet een uitwisselings-id zijn dat de gateway gaf, zoals ex_...",
    ),
    Text(
        "Send the exchange_id of the referral or signal as the gateway answered it, or "
        "leave it out.",
        "Stuur de exchange_id van de verwijzing of het signaal zoals de gateway die gaf, of laat "
        "het veld weg.",
    ),
    Text("the case is closed", "de casus is afgesloten"),
    Text(
        "Reopen it first (POST /v1/cases/{{case_id}}/reopen by the case's procesregisseur), "
        "or open a new case.",
        "Heropen de casus eerst (POST /v1/cases/{{case_id}}/reopen door de procesregisseur van "
        "de casus), of open een nieuwe casus.",
    ),
    Text(
        "only the partner that directs the case closes it",
        "alleen de partner die de regie over de casus voert sluit de casus af",
    ),
    Text(
        "Ask the case's procesregisseur to close the case.",
        "Vraag de procesregisseur van de casus de casus af te sluiten.",
    ),
    Text("the case is closed already", "de casus is al afgesloten"),
    Text(
        "Nothing to do; reopen it (POST /v1/cases/{{case_id}}/reopen) if help starts again.",
        "Er is niets te doen; heropen de casus (POST /v1/cases/{{case_id}}/reopen) als de hulp "
        "opnieuw begint.",
    ),
    Text(
        "only the partner that directs the case reopens it",
        "alleen de partner die de regie over de casus voert heropent de casus",
    ),
    Text(
        "Ask the case's procesregisseur to reopen the case.",
        "Vraag de procesregisseur van de casus de casus te heropenen.",
    ),
    Text("the case is not closed", "de casus is niet afgesloten"),
    Text(
        "Only a closed case is reopened; GET /v1/cases/{{case_id}} shows its state.",
        "Alleen een afgesloten casus wordt heropend; GET /v1/cases/{{case_id}} toont de status.",
    ),
    Text(
        "only the social team that directs the case registers others in its network",
        "alleen het sociaal team dat de regie over de casus voert registreert anderen in het "
        "casusnetwerk",
    ),
    Text(
        "Ask the case's procesregisseur to register the partner.",
        "Vraag de procesregisseur van de casus de partner te registreren.",
    ),
    # -- roles.py and cases.py: procesregie, casusregie, a child's direction ----------------------
    Text(
        "a case has exactly one procesregisseur, and this one has it already",
        "een casus heeft precies één procesregisseur, en deze heeft die al",
    ),
    Text(
        "Register the partner as 'involved' or 'casusregisseur'; the holder hands procesregie "
        "over with POST /v1/cases/{{case_id}}/hand-over.",
        "Registreer de partner als 'involved' of 'casusregisseur'; wie de procesregie heeft draagt "
        "die over met POST /v1/cases/{{case_id}}/hand-over.",
    ),
    Text(
        "the partner holding procesregie keeps its role and its place in the network while it "
        "holds it; this would leave the case without a procesregisseur",
        "de partner met de procesregie houdt zijn rol en zijn plaats in het netwerk zolang hij "
        "die heeft; dit zou de casus zonder procesregisseur laten",
    ),
    Text(
        "Hand procesregie over first (POST /v1/cases/{{case_id}}/hand-over by the partner that "
        "holds it), then change or remove the partner.",
        "Draag de procesregie eerst over (POST /v1/cases/{{case_id}}/hand-over door de partner die "
        "haar heeft) en wijzig of verwijder de partner daarna.",
    ),
    Text(
        "'column' applies to the role 'casusregisseur' only",
        "'column' geldt alleen voor de rol 'casusregisseur'",
    ),
    Text(
        "a casusregisseur needs 'column', one of {codes}",
        "een casusregisseur vraagt om 'column', een van {codes}",
    ),
    Text(
        'Name the column of help the partner directs, e.g. "column": "youth".',
        'Noem de kolom van hulp waarover de partner de regie voert, bijvoorbeeld "column": '
        '"youth".',
    ),
    Text(
        "only the partner that holds procesregie hands it over",
        "alleen de partner die de procesregie heeft draagt die over",
    ),
    Text(
        "Ask the case's procesregisseur to hand procesregie over.",
        "Vraag de procesregisseur van de casus de procesregie over te dragen.",
    ),
    Text(
        "Register the partner in the case's network first; GET "
        "/v1/cases/{{case_id}}/network lists the members.",
        "Registreer de partner eerst in het casusnetwerk; GET /v1/cases/{{case_id}}/network "
        "toont de leden.",
    ),
    Text(
        "procesregie is held by a social team, or by a certified institution holding a "
        "child-protection measure in the case",
        "de procesregie ligt bij een sociaal team, of bij een gecertificeerde instelling met een "
        "kinderbeschermingsmaatregel in de casus",
    ),
    Text(
        "Hand procesregie to a social team, or to the certified institution registered with "
        "its measure.",
        "Draag de procesregie over aan een sociaal team, of aan de gecertificeerde instelling die "
        "met haar maatregel is geregistreerd.",
    ),
    Text(
        "this column has a casusregisseur already",
        "deze kolom heeft al een casusregisseur",
    ),
    Text(
        "Register the partner as 'involved', or first register the present casusregisseur "
        "as 'involved'.",
        "Registreer de partner als 'involved', of registreer eerst de huidige casusregisseur als "
        "'involved'.",
    ),
    Text(
        "only the procesregisseur, or the certified institution directing the child, gives "
        "the direction of a child's help back",
        "alleen de procesregisseur, of de gecertificeerde instelling die de regie over het kind "
        "voert, geeft de regie over de hulp aan een kind terug",
    ),
    Text("Ask the case's procesregisseur.", "Vraag het de procesregisseur van de casus."),
    Text(
        "only a certified institution holding a child-protection measure in the case directs "
        "the help for a child",
        "alleen een gecertificeerde instelling met een kinderbeschermingsmaatregel in de casus "
        "voert de regie over de hulp aan een kind",
    ),
    Text(
        "Register the certified institution with its measure (PUT "
        "/v1/cases/{{case_id}}/network/{{partner_id}} with 'measure') first.",
        "Registreer eerst de gecertificeerde instelling met haar maatregel (PUT "
        "/v1/cases/{{case_id}}/network/{{partner_id}} met 'measure').",
    ),
    Text(
        "only the procesregisseur, or the certified institution itself, sets who directs the "
        "help for a child",
        "alleen de procesregisseur, of de gecertificeerde instelling zelf, legt vast wie de regie "
        "over de hulp aan een kind voert",
    ),
    Text(
        "the case's household holds no child with this child_ref",
        "het huishouden van de casus heeft geen kind met deze child_ref",
    ),
    Text(
        "GET /v1/cases/{{case_id}}/household lists the children.",
        "GET /v1/cases/{{case_id}}/household toont de kinderen.",
    ),
    Text(
        "procesregie of this case changed while it was being handed over",
        "de procesregie van deze casus veranderde terwijl die werd overgedragen",
    ),
    Text(
        "GET /v1/cases/{{case_id}} shows who holds procesregie now.",
        "GET /v1/cases/{{case_id}} toont wie nu de procesregie heeft.",
    ),
    Text(
        "only the social team that directs the case removes members from its network",
        "alleen het sociaal team dat de regie over de casus voert verwijdert leden uit het "
        "casusnetwerk",
    ),
    Text(
        "Ask the case's procesregisseur to end the registration.",
        "Vraag de procesregisseur van de casus de registratie te beëindigen.",
    ),
    Text(
        "partner '{partner}' is not a member of this case network",
        "partner '{partner}' is geen lid van dit casusnetwerk",
    ),
    Text(
        "GET /v1/cases/{{case_id}}/network lists the members.",
        "GET /v1/cases/{{case_id}}/network toont de leden.",
    ),
    Text(
        "only a certified institution registers itself in a case network, as the holder of a "
        "child-protection measure, and only in a case opened with POST /v1/cases",
        "alleen een gecertificeerde instelling registreert zichzelf in een casusnetwerk, als "
        "uitvoerder van een kinderbeschermingsmaatregel, en alleen in een casus die met "
        "POST /v1/cases is geopend",
    ),
    Text(
        "Ask the social team that directs the case to register your organisation.",
        "Vraag het sociaal team dat de regie over de casus voert uw organisatie te registreren.",
    ),
    Text(
        "a certified institution registers itself as 'involved' only",
        "een gecertificeerde instelling registreert zichzelf alleen als 'involved' (betrokken)",
    ),
    Text(
        "Register with role 'involved'; the social team that directs the case registers the "
        "referrer.",
        "Registreer u met de rol 'involved'; het sociaal team dat de regie over de casus voert "
        "registreert de verwijzer.",
    ),
    Text(
        "'measure' applies to a certified institution only",
        "'measure' geldt alleen voor een gecertificeerde instelling",
    ),
    Text(
        "no case you are a member of has this case_id",
        "er is geen casus met deze case_id waarvan u lid bent",
    ),
    Text(
        "Send the case id the case's social team gave you when it registered your organisation "
        "in the case (GET /v1/cases/{{case_id}}/network), or leave case_id out.",
        "Stuur de casus-id die het sociaal team van de casus u gaf toen het uw organisatie in "
        "de casus registreerde (GET /v1/cases/{{case_id}}/network), of laat case_id weg.",
    ),
    Text(
        "no case network you are a member of has this id",
        "er is geen casusnetwerk met deze id waarvan u lid bent",
    ),
    Text(
        "Check the case id, or send to the partners you know by their ids.",
        "Controleer de casus-id, of verstuur aan de partners die u kent, met hun id.",
    ),
    # -- request.py: break-glass, the meldcode's conflict-of-duties test ------------------------
    Text(
        "by your own answers the conflict-of-duties test is not met ({failed}): "
        "break-glass is not justified",
        "volgens uw eigen antwoorden is niet voldaan aan de toets van het conflict van plichten "
        "({failed}): doorbreken zonder toestemming (break-glass) is niet gerechtvaardigd",
    ),
    Text(
        "Share only when there is no other way, it is proportionate and minimal; otherwise ask "
        "for consent or discuss the case with Veilig Thuis anonymously.",
        "Deel alleen als er geen andere weg is en het delen proportioneel en minimaal is; vraag "
        "anders om toestemming of bespreek de casus anoniem met Veilig Thuis.",
    ),
    # -- relations.py: the relation to the person a purpose presumes -------------------------
    Text(
        "purpose '{purpose}' presumes that you help this person, and no relation of yours to "
        "this subject shows it; any one of these would: {wanted:list}",
        "doel '{purpose}' veronderstelt dat u deze persoon helpt, en geen relatie van u met deze "
        "persoon laat dat zien; elk van deze zou volstaan: {wanted:list}",
    ),
    Text("a {relation:phrase} ({name})", "een {relation:phrase} ({name})", joins=True),
    Text(
        "Any one of these establishes it. {ways:sentences}",
        "Elk van deze legt de relatie vast. {ways:sentences}",
    ),
    Text("no {relation:phrase} ({name})", "geen {relation:phrase} ({name})"),
    Text(
        "purpose '{purpose}' presumes that you help this person on behalf of the recipient; "
        "your relation to this subject is not towards recipient '{recipient}'",
        "doel '{purpose}' veronderstelt dat u deze persoon helpt namens de ontvanger; uw "
        "relatie met deze persoon is niet met ontvanger '{recipient}'",
    ),
    Text(
        "Send it to the partner your relation is towards: the partner that referred the person "
        "to you, a member of the person's case network, or the partner your start message went "
        "to; or establish a relation towards this recipient first.",
        "Verstuur het aan de partner met wie uw relatie bestaat: de partner die de persoon naar "
        "u verwees, een deelnemer aan het casusnetwerk van de persoon, of de partner aan wie uw "
        "startbericht ging; of leg eerst een relatie met deze ontvanger vast.",
    ),
    Text(
        "referral received by you for this subject",
        "verwijzing voor deze persoon die u hebt ontvangen",
        joins=True,
    ),
    Text(
        "membership of a case network whose household holds this subject",
        "deelname aan een casusnetwerk waarvan het huishouden deze persoon bevat",
        joins=True,
    ),
    Text(
        "start of help recorded by you for this subject",
        "door u vastgelegde start van hulp aan deze persoon",
        joins=True,
    ),
    Text(
        "Send it once the social team's referral about this person has reached you (a referral "
        "of a brother or sister counts for the children of the household it names).",
        "Verstuur het zodra de verwijzing van het sociaal team over deze persoon u heeft bereikt "
        "(een verwijzing van een broer of zus telt voor de kinderen van het huishouden dat die "
        "noemt).",
    ),
    Text(
        "Ask the social team that directs the person's case to register your organisation in the "
        "case network (PUT /v1/cases/{{case_id}}/network/{{partner_id}}) and the child in the "
        "case's household (PUT /v1/cases/{{case_id}}/household).",
        "Vraag het sociaal team dat de casus van deze persoon regisseert uw organisatie in het "
        "casusnetwerk op te nemen (PUT /v1/cases/{{case_id}}/network/{{partner_id}}) en het kind "
        "in het huishouden van de casus (PUT /v1/cases/{{case_id}}/household).",
    ),
    Text(
        "Send your start message (purpose 'start-stop') for this person first; that message "
        "itself needs a referral received or a case membership.",
        "Verstuur eerst uw startbericht (doel 'start-stop') voor deze persoon; dat bericht "
        "vraagt zelf een ontvangen verwijzing of deelname aan een casusnetwerk.",
    ),
    # -- grounds.py: a ground that holds only on facts (mandate, age, OTS) -------------------
    # The sentences before the refusal say why a statutory ground did not hold (the templates
    # below); the ones above, with more literal text, are tried first (a reference such as
    # "art. 7.4.0" would split a run of sentences at its full stop).
    Text(
        "{why:sentences} purpose '{purpose}' needs consent, and no active consent covers sending "
        "it from '{sender}' to '{recipient}' about this subject",
        "{why:sentences} doel '{purpose}' vraagt toestemming, en geen geldige toestemming dekt "
        "het versturen van '{sender}' aan '{recipient}' over deze persoon",
    ),
    Text(
        "The ground '{passed}' does not apply: {why:phrase}. purpose '{purpose}' needs consent, and no active consent covers sending it from '{sender}' to '{recipient}' about this subject",
        "De grondslag '{passed}' geldt hier niet: {why:phrase}. doel '{purpose}' vraagt toestemming, en geen geldige toestemming dekt het versturen van '{sender}' aan '{recipient}' over deze persoon",
    ),
    Text(
        "By the birth date held, the ground for this subject is '{chosen}'. purpose '{purpose}' needs consent, and no active consent covers sending it from '{sender}' to '{recipient}' about this subject",
        "Naar de geboortedatum die de gateway kent, is de grondslag voor deze persoon '{chosen}'. doel '{purpose}' vraagt toestemming, en geen geldige toestemming dekt het versturen van '{sender}' aan '{recipient}' over deze persoon",
    ),
    Text(
        "The ground '{passed}' does not apply: {why:phrase}. By the birth date held, the ground for this subject is '{chosen}'. purpose '{purpose}' needs consent, and no active consent covers sending it from '{sender}' to '{recipient}' about this subject",
        "De grondslag '{passed}' geldt hier niet: {why:phrase}. Naar de geboortedatum die de gateway kent, is de grondslag voor deze persoon '{chosen}'. doel '{purpose}' vraagt toestemming, en geen geldige toestemming dekt het versturen van '{sender}' aan '{recipient}' over deze persoon",
    ),
    Text(
        "recipient '{recipient}' does not act for the college (no mandate or assignment is recorded for it), and the duty runs towards the college",
        "ontvanger '{recipient}' handelt niet namens het college (er is geen mandaat of opdracht voor vastgelegd), en de plicht geldt tegenover het college",
        joins=True,
    ),
    Text(
        "the mandate of recipient '{recipient}' to act for the college runs only from {since}",
        "het mandaat van ontvanger '{recipient}' om namens het college te handelen geldt pas vanaf {since}",
        joins=True,
    ),
    Text(
        "it holds for {subjects} only, and the gateway holds no birth date for this subject (record one with the client's consent)",
        "zij geldt alleen voor {subjects}, en de gateway kent geen geboortedatum van deze persoon (leg die vast met de toestemming van de cliënt)",
        joins=True,
    ),
    Text(
        "it holds for {subjects} only",
        "zij geldt alleen voor {subjects}",
        joins=True,
    ),
    Text(
        "recipient '{recipient}' is not recorded as carrying out a supervision order (OTS) for this child: it is not in the network of a case whose household holds the child",
        "van ontvanger '{recipient}' is niet vastgelegd dat zij een ondertoezichtstelling (OTS) van dit kind uitvoert: zij neemt niet deel aan het netwerk van een casus waarvan het huishouden het kind bevat",
        joins=True,
    ),
    Text(
        "it holds only with break-glass, in acute danger where the client cannot be asked or "
        "asking would endanger the person",
        "zij geldt alleen bij doorbreken zonder toestemming (break-glass), bij acuut gevaar als "
        "de cliënt niet gevraagd kan worden of vragen de persoon in gevaar brengt",
        joins=True,
    ),
    Text("it holds for minors only", "zij geldt alleen voor minderjarigen", joins=True),
    Text(
        "it holds for minors only, and the gateway holds no birth date for this subject (record "
        "one with the client's consent)",
        "zij geldt alleen voor minderjarigen, en de gateway kent geen geboortedatum van deze persoon "
        "(leg die vast met de toestemming van de cliënt)",
        joins=True,
    ),
    Text("it holds for adults only", "zij geldt alleen voor meerderjarigen", joins=True),
    Text(
        "it holds for adults only, and the gateway holds no birth date for this subject (record "
        "one with the client's consent)",
        "zij geldt alleen voor meerderjarigen, en de gateway kent geen geboortedatum van deze persoon "
        "(leg die vast met de toestemming van de cliënt)",
        joins=True,
    ),
)
