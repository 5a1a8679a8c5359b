"""Dutch for the consent registry's refusals (`consent/`, `gateway/service/consents.py`) and the
explanations of a missing consent.

"Consent" is `toestemming` throughout; who gives it is the person (`de persoon zelf`) or a
gezagsdrager (holder of parental authority or guardian, `voogd`); an adult's court-appointed
representative is a mentor or curator. Field paths (`/given_by`) stay as the contract spells them.
"""

from __future__ import annotations

from typing import Final

from gateway.i18n.catalogue import Text

__all__ = ["CONSENT_TEXTS"]

CONSENT_TEXTS: Final = (
    # -- who gives consent, as words inside other texts (consent.age, consent.representation) ---
    Text("{first:phrase} and {second:phrase}", "{first:phrase} en {second:phrase}", joins=True),
    Text("the subject", "de persoon zelf"),
    Text("a custodian (gezagsdrager)", "een gezagsdrager"),
    Text("the parent with sole authority", "de ouder met eenhoofdig gezag"),
    Text("a parent with joint authority", "een ouder met gezamenlijk gezag"),
    Text("the guardian (voogd)", "de voogd"),
    Text(
        "the certified institution that is guardian (voogd)",
        "de gecertificeerde instelling die voogd is",
    ),
    Text("the mentor", "de mentor"),
    Text("the curator", "de curator"),
    Text(
        "the other holder of joint authority (parent_joint_authority)",
        "de andere gezamenlijke gezagsdrager (parent_joint_authority)",
    ),
    Text(
        "the subject or, for a minor, the custodians as the age rules require",
        "de persoon zelf of, voor een minderjarige, de gezagsdragers zoals de leeftijdsregels "
        "vragen",
    ),
    Text("under 12", "jonger dan 12 jaar"),
    Text("12 to 15", "van 12 tot en met 15 jaar"),
    Text("16 or older", "van 16 jaar of ouder"),
    # -- consent.evaluate: why no consent covers an exchange ------------------------------------
    Text(
        "No active consent covers purpose '{purpose}' from '{sender}' to '{recipient}' for "
        "this subject.",
        "Geen geldige toestemming dekt doel '{purpose}' van '{sender}' aan '{recipient}' voor "
        "deze persoon.",
    ),
    Text(
        "No active consent covers purpose '{purpose}' from '{sender}' to '{recipient}' for "
        "this subject. {reasons:sentences}",
        "Geen geldige toestemming dekt doel '{purpose}' van '{sender}' aan '{recipient}' voor "
        "deze persoon. {reasons:sentences}",
    ),
    Text("consent {consent}: {gap:phrase}.", "toestemming {consent}: {gap:phrase}."),
    Text("consent {consent}: {gap:phrase}", "toestemming {consent}: {gap:phrase}"),
    Text("withdrawn on {date}", "ingetrokken op {date}"),
    Text("expired on {date}", "verlopen op {date}"),
    Text("not valid before {date}", "niet geldig vóór {date}"),
    Text("not active ({state})", "niet actief ({state})"),
    Text("purpose '{purpose}' not in scope", "doel '{purpose}' valt er niet onder"),
    Text("sender '{sender}' not in scope", "afzender '{sender}' valt er niet onder"),
    Text(
        "recipient '{recipient}' (kind {kind}) not in scope",
        "ontvanger '{recipient}' (soort {kind}) valt er niet onder",
    ),
    Text(
        "givers not sufficient: the birth date is unknown, so the subject must consent",
        "de gevers volstaan niet: de geboortedatum is onbekend, dus de persoon zelf moet "
        "toestemming geven",
    ),
    Text(
        "givers not sufficient: the exchange date lies before the subject's birth date",
        "de gevers volstaan niet: de datum van het bericht ligt vóór de geboortedatum van de "
        "persoon",
    ),
    Text(
        "givers no longer sufficient because the subject turned {age}: {missing:phrase} must "
        "consent too",
        "de gevers volstaan niet meer omdat de persoon {age} werd: ook {missing:phrase} moet "
        "toestemming geven",
    ),
    Text(
        "givers not sufficient for a subject aged {band:phrase}: {missing:phrase} must consent too",
        "de gevers volstaan niet voor een persoon {band:phrase}: ook {missing:phrase} moet "
        "toestemming geven",
    ),
    Text(
        "Record consent (POST /v1/consents) given by {givers:phrase} for purpose '{purpose}', "
        "from '{sender}', to '{recipient}'.",
        "Leg toestemming vast (POST /v1/consents), gegeven door {givers:phrase}, voor doel "
        "'{purpose}', van '{sender}', aan '{recipient}'.",
    ),
    # -- consent.age: the age rules on the recording date ---------------------------------------
    Text(
        "The subject's birth date is unknown, so it cannot be checked that a mentor or curator "
        "acts for an adult, or that the subject is 12 to 15 and decides alone.",
        "De geboortedatum van de persoon is onbekend, dus kan niet worden nagegaan dat een "
        "mentor of curator voor een volwassene optreedt, of dat de persoon 12 tot en met 15 jaar "
        "is en zelf beslist.",
    ),
    Text("Give subject.birth_date.", "Geef subject.birth_date mee."),
    Text(
        "The subject's birth date is unknown, so the subject is treated as 16 or older and must "
        "give the consent; the givers lack the subject.",
        "De geboortedatum van de persoon is onbekend, dus geldt de persoon als 16 jaar of ouder "
        "en moet die zelf toestemming geven; de persoon zelf staat niet bij de gevers.",
    ),
    Text(
        "Give subject.birth_date so the age rules can decide who must consent, or record the "
        "consent with the subject among the givers.",
        "Geef subject.birth_date mee, zodat de leeftijdsregels bepalen wie toestemming moet "
        "geven, of leg de toestemming vast met de persoon zelf bij de gevers.",
    ),
    Text(
        "The subject's birth date lies after the date the consent is checked on.",
        "De geboortedatum van de persoon ligt na de datum waarop de toestemming wordt getoetst.",
    ),
    Text("Correct subject.birth_date.", "Verbeter subject.birth_date."),
    Text(
        "Consent for a subject aged {band:phrase} lacks {missing:phrase}.",
        "Bij de toestemming voor een persoon {band:phrase} ontbreekt {missing:phrase}.",
    ),
    Text(
        "Record the consent with given_by including {givers:phrase}.",
        "Leg de toestemming vast met {givers:phrase} in given_by.",
    ),
    Text(
        "Record the consent with given_by including {givers:phrase} (a holder of authority: the "
        "parent with sole authority, both holders of joint authority, or the guardian, each with "
        "its authority evidence).",
        "Leg de toestemming vast met {givers:phrase} in given_by (een gezagsdrager: de ouder met "
        "eenhoofdig gezag, beide ouders met gezamenlijk gezag, of de voogd, elk met het bewijs "
        "van het gezag).",
    ),
    Text(
        "A mentor or curator acts for an adult (BW 1:450, 1:381); the subject is a minor.",
        "Een mentor of curator treedt op voor een volwassene (BW 1:450, 1:381); de persoon is "
        "minderjarig.",
    ),
    Text(
        "For a minor, record the holder(s) of authority (parents or guardian) instead.",
        "Leg voor een minderjarige in plaats daarvan de gezagsdrager(s) vast (ouders of voogd).",
    ),
    Text(
        "Parental authority and guardianship end when the subject comes of age at 18 "
        "(BW 1:233); the subject is an adult.",
        "Ouderlijk gezag en voogdij eindigen wanneer de persoon op 18 jaar meerderjarig wordt "
        "(BW 1:233); de persoon is volwassen.",
    ),
    Text(
        "For an adult, record the subject's own agreement, or the mentor or curator the court "
        "appointed.",
        "Leg voor een volwassene de eigen instemming van de persoon vast, of de mentor of "
        "curator die de rechter benoemde.",
    ),
    Text(
        "Field decides_alone is for a child of 12 to 15 (BW 7:450 lid 2); the subject is "
        "{band:phrase}.",
        "Veld decides_alone is voor een kind van 12 tot en met 15 jaar (BW 7:450 lid 2); de "
        "persoon is {band:phrase}.",
    ),
    Text(
        "Leave decides_alone out: under 12 the holders of authority agree, from 16 the subject "
        "agrees alone anyway.",
        "Laat decides_alone weg: onder 12 jaar stemmen de gezagsdragers in, vanaf 16 jaar stemt "
        "de persoon sowieso zelf in.",
    ),
    # -- consent.parse: rules of a consent record ------------------------------------------------
    Text(
        "Field /subject/birth_date lies in the future.",
        "Veld /subject/birth_date ligt in de toekomst.",
    ),
    Text("Correct the subject's birth date.", "Verbeter de geboortedatum van de persoon."),
    Text(
        "Field /valid_until must lie after /valid_from (valid_until is the first day the consent "
        "no longer holds).",
        "Veld /valid_until moet na /valid_from liggen (valid_until is de eerste dag waarop de "
        "toestemming niet meer geldt).",
    ),
    Text(
        "Give a valid_until after valid_from, or leave it out for open-ended consent.",
        "Geef een valid_until na valid_from, of laat het weg voor toestemming zonder einddatum.",
    ),
    Text(
        "Field /valid_until lies in the past: the consent would already have expired.",
        "Veld /valid_until ligt in het verleden: de toestemming zou al verlopen zijn.",
    ),
    Text(
        "Give a valid_until after today, or leave it out for open-ended consent.",
        "Geef een valid_until na vandaag, of laat het weg voor toestemming zonder einddatum.",
    ),
    Text(
        "Field /given_by is empty: nobody gave the consent.",
        "Veld /given_by is leeg: niemand gaf de toestemming.",
    ),
    Text(
        "List who gave the consent: the subject and/or a custodian, as the age rules require.",
        "Noem wie de toestemming gaf: de persoon zelf en/of een gezagsdrager, zoals de "
        "leeftijdsregels vragen.",
    ),
    Text(
        "Field /given_by lists the subject more than once.",
        "Veld /given_by noemt de persoon zelf meer dan eens.",
    ),
    Text(
        "List the subject once; list each custodian as a separate giver.",
        "Noem de persoon zelf één keer; noem elke gezagsdrager als aparte gever.",
    ),
    Text("Field /given_by {problem:phrase}.", "Veld /given_by {problem:phrase}."),
    Text(
        "lists the legacy role custodian beside a recorded kind of authority; record each "
        "holder with the role of its own authority",
        "noemt de oude rol custodian naast een vastgelegde soort gezag; leg iedere gezagsdrager "
        "vast met de rol van diens eigen gezag",
    ),
    Text(
        "lists the same holder of joint authority twice; the two holders are two different people",
        "noemt dezelfde gezagsdrager met gezamenlijk gezag twee keer; de twee gezagsdragers zijn "
        "twee verschillende personen",
    ),
    Text(
        "lists more than one kind of authority (sole, joint, guardianship); a minor is under "
        "one of them at a time",
        "noemt meer dan één soort gezag (eenhoofdig, gezamenlijk, voogdij); een minderjarige "
        "staat onder één ervan tegelijk",
    ),
    Text(
        "lists more than one parent with sole authority",
        "noemt meer dan één ouder met eenhoofdig gezag",
    ),
    Text(
        "lists more than {count} holders of joint authority",
        "noemt meer dan {count} gezamenlijke gezagsdragers",
    ),
    Text(
        "lists a minor's holder of authority together with an adult's mentor or curator",
        "noemt een gezagsdrager van een minderjarige samen met een mentor of curator van een "
        "volwassene",
    ),
    Text(
        "List the representatives who hold authority now, as the gezagsregister or the court's "
        "order shows: one parent with sole authority, both holders of joint authority, or the "
        "guardian; for an adult the mentor or curator.",
        "Noem de vertegenwoordigers die nu het gezag hebben, zoals het gezagsregister of de "
        "beschikking van de rechter laat zien: één ouder met eenhoofdig gezag, beide ouders met "
        "gezamenlijk gezag, of de voogd; voor een volwassene de mentor of curator.",
    ),
    Text(
        "Field {where} is required for role {role}: how the authority was established.",
        "Veld {where} is verplicht voor de rol {role}: hoe het gezag is vastgesteld.",
    ),
    Text(
        "Give authority.established_by (gezagsregister, court_order or brp) and "
        "authority.reference (e.g. the number of the gezagsregister extract or the order).",
        "Geef authority.established_by (gezagsregister, court_order of brp) en "
        "authority.reference (bijvoorbeeld het nummer van het uittreksel uit het gezagsregister "
        "of van de beschikking).",
    ),
    Text(
        "Field {where} is for a representative; the subject acts for themselves.",
        "Veld {where} is voor een vertegenwoordiger; de persoon treedt voor zichzelf op.",
    ),
    Text("Remove {where}.", "Verwijder {where}."),
    Text(
        "Field {where} is for the subject: only a child of 12 to 15 decides alone.",
        "Veld {where} is voor de persoon zelf: alleen een kind van 12 tot en met 15 jaar beslist "
        "zelf.",
    ),
    Text(
        "Field /purposes is empty: the consent would cover nothing.",
        "Veld /purposes is leeg: de toestemming zou niets dekken.",
    ),
    Text(
        "List the purposes the subject consented to.",
        "Noem de doelen waarvoor de persoon toestemming gaf.",
    ),
    Text(
        "Field /from is empty: no partner could send under this consent.",
        "Veld /from is leeg: geen partner zou onder deze toestemming kunnen versturen.",
    ),
    Text(
        "List the sending partner ids, or leave /from out to mean the recording partner.",
        "Noem de id's van de verzendende partners, of laat /from weg om de vastleggende partner "
        "te bedoelen.",
    ),
    Text(
        "Field /to is empty: no partner could receive under this consent.",
        "Veld /to is leeg: geen partner zou onder deze toestemming kunnen ontvangen.",
    ),
    Text(
        "List the recipient partner ids or kinds (e.g. kind:care_provider).",
        "Noem de id's of soorten van de ontvangende partners (bijvoorbeeld kind:care_provider).",
    ),
    Text(
        "Field {pointer} is not a purpose in the catalogue.",
        "Veld {pointer} is geen doel uit de catalogus.",
    ),
    Text(
        "Use purpose ids from the catalogue (GET /v1/purposes lists them).",
        "Gebruik doel-id's uit de catalogus (GET /v1/purposes toont ze).",
    ),
    # -- consent.scope: what the recording partner may record -----------------------------------
    Text(
        "Only the social team that directs the case named in /case_id (its procesregisseur) may "
        "record consent for exchanges between the case's members.",
        "Alleen het sociaal team dat de regie voert over de casus in /case_id (de "
        "procesregisseur) mag toestemming vastleggen voor berichten tussen de leden van de casus.",
    ),
    Text(
        "Record consent only for exchanges your organisation sends itself (leave /case_id out), "
        "or ask the case's procesregisseur to record it.",
        "Leg alleen toestemming vast voor berichten die uw organisatie zelf verstuurt (laat "
        "/case_id weg), of vraag de procesregisseur van de casus die vast te leggen.",
    ),
    Text(
        "Field /subject names a child that is not registered in the household of the case named "
        "in /case_id: consent recorded for a case covers the case's children only.",
        "Veld /subject noemt een kind dat niet in het huishouden van de casus in /case_id is "
        "geregistreerd: toestemming die voor een casus is vastgelegd, dekt alleen de kinderen "
        "van die casus.",
    ),
    Text(
        "Register the child in the case first (PUT /v1/cases/{{case_id}}/household), then record "
        "the consent for the case.",
        "Registreer het kind eerst in de casus (PUT /v1/cases/{{case_id}}/household) en leg "
        "daarna de toestemming voor de casus vast.",
    ),
    Text(
        "Field /from/{index} names another partner: a partner records consent only for "
        "exchanges it sends itself.",
        "Veld /from/{index} noemt een andere partner: een partner legt alleen toestemming vast "
        "voor berichten die hij zelf verstuurt.",
    ),
    Text(
        "Leave /from out (it means your own organisation), or, as the social team that directs "
        "the case, give /case_id to record the family's agreement for exchanges between the "
        "case's members.",
        "Laat /from weg (dat betekent uw eigen organisatie), of geef, als sociaal team dat de "
        "regie over de casus voert, /case_id mee om de instemming van het gezin vast te leggen "
        "voor berichten tussen de leden van de casus.",
    ),
    Text(
        "Field /to/{index} names no registered partner or partner kind.",
        "Veld /to/{index} noemt geen geregistreerde partner of soort partner.",
    ),
    Text(
        "Name recipients by their partner ids (GET /v1/partners) or as kind:<kind>.",
        "Noem ontvangers met hun partner-id (GET /v1/partners) of als kind:<soort>.",
    ),
    Text(
        "Field /purposes/{index} names a purpose that no sender of the consent may send.",
        "Veld /purposes/{index} noemt een doel dat geen afzender van de toestemming mag versturen.",
    ),
    Text(
        "Name only purposes the senders may send (GET /v1/purposes lists each purpose's sender "
        "kinds).",
        "Noem alleen doelen die de afzenders mogen versturen (GET /v1/purposes toont per doel "
        "welke soorten afzenders het mogen versturen).",
    ),
    Text(
        "Field /from/{index} names a partner whose kind may send none of the purposes.",
        "Veld /from/{index} noemt een partner van een soort die geen van de doelen mag versturen.",
    ),
    Text(
        "Name as senders only partners that may send one of the purposes.",
        "Noem als afzenders alleen partners die een van de doelen mogen versturen.",
    ),
    Text(
        "Field {pointer}/{index} names a partner kind: consent recorded for a case covers the "
        "case's members only.",
        "Veld {pointer}/{index} noemt een soort partner: toestemming die voor een casus is "
        "vastgelegd, dekt alleen de leden van de casus.",
    ),
    Text(
        "Name each recipient by its partner id; a kind would reach partners outside the case.",
        "Noem elke ontvanger met zijn partner-id; een soort zou partners buiten de casus bereiken.",
    ),
    Text(
        "Field {pointer}/{index} names a partner that is not a member of the case.",
        "Veld {pointer}/{index} noemt een partner die geen lid van de casus is.",
    ),
    Text(
        "Name only members of the case (GET /v1/cases/{{case_id}}/network), or register the "
        "partner in the case first.",
        "Noem alleen leden van de casus (GET /v1/cases/{{case_id}}/network), of registreer de "
        "partner eerst in de casus.",
    ),
    # -- gateway.service.consents and birth_dates -----------------------------------------------
    Text(
        "Field /subject/birth_date differs from the birth date the gateway holds for this "
        "subject; the consent is not recorded.",
        "Veld /subject/birth_date wijkt af van de geboortedatum die de gateway voor deze persoon "
        "kent; de toestemming is niet vastgelegd.",
    ),
    Text(
        "Check the birth date with the family or the Basisregistratie Personen. If the date the "
        "gateway holds is wrong, the social team that directs a case of the child corrects it "
        "(POST /v1/subjects/birth-date).",
        "Controleer de geboortedatum bij het gezin of in de Basisregistratie Personen. Is de "
        "datum die de gateway kent onjuist, dan verbetert het sociaal team dat de regie voert "
        "over een casus van het kind die (POST /v1/subjects/birth-date).",
    ),
    Text(
        "The givers do not satisfy the age rules for this subject's birth date as the gateway "
        "holds it.",
        "De gevers voldoen niet aan de leeftijdsregels voor de geboortedatum die de gateway voor "
        "deze persoon kent.",
    ),
    Text(
        "Give subject.birth_date and the givers the age rules require for it (under 12: a "
        "custodian; 12 to 15: the subject and a custodian; 16 or older: the subject).",
        "Geef subject.birth_date mee en de gevers die de leeftijdsregels daarbij vragen (onder "
        "12 jaar: een gezagsdrager; 12 tot en met 15 jaar: de persoon zelf en een gezagsdrager; "
        "16 jaar of ouder: de persoon zelf).",
    ),
    Text("no such consent", "deze toestemming bestaat niet"),
    Text(
        "Check the consent id (GET /v1/consents?bsn=... or "
        "?identifier_system=...&identifier_value=...).",
        "Controleer de toestemmings-id (GET /v1/consents?bsn=... of "
        "?identifier_system=...&identifier_value=...).",
    ),
    Text(
        "only the partner that recorded a consent, or a sender it names, may withdraw it",
        "alleen de partner die een toestemming vastlegde, of een afzender die erin genoemd "
        "wordt, mag haar intrekken",
    ),
    Text(
        "Ask {recorder} to record the withdrawal.",
        "Vraag {recorder} de intrekking vast te leggen.",
    ),
    Text(
        "only the social team that directs a case whose household holds this child may correct "
        "the child's birth date",
        "alleen het sociaal team dat de regie voert over een casus met dit kind in het "
        "huishouden mag de geboortedatum van het kind verbeteren",
    ),
    Text(
        "Correct it as the case's procesregisseur, with the child registered in the case's "
        "household (PUT /v1/cases/{{case_id}}/household).",
        "Verbeter die als procesregisseur van de casus, met het kind geregistreerd in het "
        "huishouden van de casus (PUT /v1/cases/{{case_id}}/household).",
    ),
)
