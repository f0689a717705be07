"""Attribution: who stands behind a mail. The vendor that genuinely sent it (its own domain,
or an agency writing for it), a seller that no list names (a company writing about its own
technology), or a vendor the mail only pretends to be (lookalike domain, display name, spoofing).

The rules (detectors/rules.py) read the :class:`Identity` this module works out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import islice

from unidecode import unidecode

from detectors.phrases import UNSPACED, tokenize
from detectors.signals import SOCIAL, Signals, tech_name
from detectors.text import fold
from detectors.vendors import FREEMAIL, Catalog, Vendor, org_domain, registrable, skeleton
from detectors.verdict import few


@dataclass(frozen=True, slots=True)
class Identity:
    """Who stands behind the mail, as far as the sender tells."""

    vendor: Vendor | None = None  # the vendor that genuinely sent it (its domain, or its agency)
    vendor_name: str = ""  # the vendor's name, also for sellers not in the catalog
    how: str = ""  # "domain", "agency", "unknown"
    claimed: Vendor | None = None  # a vendor the mail pretends to be
    claim_how: str = ""  # "lookalike", "display name", "spoofed domain"
    evidence: str = ""


_AGENCY = re.compile(
    r"\b(on behalf of|in partnership with|programme for|program for|funded by|sponsored by|"
    r"im auftrag (?:von|der|des)|im namen (?:von|der|des)|au nom de|pour le compte de|en nombre de|de parte de|"
    r"namens|in opdracht van|em nome d[aeo]|per conto di|a nome di|på vegne av|på vegne af|på uppdrag av|"
    r"w imieniu|en nom de)\s+(?:the |de |la |le |der |des |di |da |do |von )?([^\n.;:!?]{2,60})",
    re.IGNORECASE,
)
# Languages that name the vendor first: "a Lenovo Magyarország megbízásából", "Lenovo adına".
# Group 2 is the vendor, as in _AGENCY. Searched only before the keyword: a lazy match from
# every position of a long text costs milliseconds.
_AGENCY_AFTER_KEY = re.compile(r"\b(?:megbízásából|adına)\b", re.IGNORECASE)
# The three words before the keyword: "… licenceiről a Lenovo megbízásából" names Lenovo.
_AGENCY_AFTER = re.compile(r"((?:[^\s.;:!?,]+\s+){0,2}[^\s.;:!?,]+)\s+$")
_MAX_AGENCY_PHRASES = 5


def _agency_phrases(text: str) -> list[tuple[str, str]]:
    """(the vendor's name as written, the phrase as evidence) for the first few "on behalf of"
    phrases: mail repeating one thousands of times costs no more."""
    first = range(_MAX_AGENCY_PHRASES)
    found = [(m.group(2), m.group(0)) for m, _ in zip(_AGENCY.finditer(text), first, strict=False)]
    for key, _ in zip(_AGENCY_AFTER_KEY.finditer(text), first, strict=False):
        before = _AGENCY_AFTER.search(text, max(0, key.start() - 60), key.start())
        if before:
            found.append((before.group(1), text[before.start(1) : key.end()]))
    return found


_CAPITALISED = re.compile(r"\b([A-Z][\w&-]*(?:[ \t]+[A-Z][\w&-]*){0,2})")  # a name never spans lines


def _label(reg: str) -> str:
    """The name part of a registrable domain, letters and digits only: "vetrix-payments.co" -> "vetrixpayments"."""
    return re.sub(r"[^a-z0-9]", "", reg.split(".")[0])


def _short_label(reg: str) -> str:
    """The company name a domain starts with, when the domain adds a word or a number that the
    mail may never spell: "traceo-agro.fr" -> "traceo", "scansia3d.it" -> "scansia"; "" when
    there is no such shorter name of five letters or more."""
    label = reg.split(".")[0]
    short = re.split(r"[-_0-9]", label, maxsplit=1)[0]
    return short if len(short) >= 5 and short != label else ""


def _unlisted_vendor(name: str, brand: str) -> Vendor:
    """A vendor no list names, for a claim someone makes in its name."""
    return Vendor(
        name=name,
        domains=frozenset(),
        marketing_domains=frozenset(),
        service_domains=frozenset(),
        agency_domains=frozenset(),
        brands=(brand,),
        products=(),
    )


def org_name(s: Signals) -> str:
    """A seller's company name: the signature's spelling of its domain if found, else the domain."""
    label = s.reg.split(".")[0] if s.reg else ""
    squashed = _label(s.reg)
    if not squashed:
        return ""
    short = _short_label(s.reg)
    text = f"{s.message.signature[:2000]}\n{s.message.new_text[:1500]}"
    for found in _CAPITALISED.finditer(text):
        words = found.group(1)
        if _squash(words) in (squashed, short):
            return words
    return label.replace("-", " ").title()


def _agency(s: Signals, catalog: Catalog) -> Identity | None:
    """The vendor an agency says it writes for ("on behalf of Dell"), if the catalog knows it."""
    if not s.said("agency"):
        return None
    text = f"{s.message.subject}\n{s.message.new_text[:6000]}\n{s.message.signature[:2000]}"
    for name, phrase in _agency_phrases(text):
        vendor = catalog.named_in(name) or catalog.product_of(name)
        if vendor:
            return Identity(
                vendor=vendor, vendor_name=vendor.name, how="agency", evidence=phrase[:80].strip()
            )
    return None


def _relayed(s: Signals, catalog: Catalog) -> bool:
    """A platform sending on its own customer's behalf ("Invoice 55821 from Harinas del Valle
    Distributing" from quickbooks@notification.intuit.com, replies to ar@harinasdelvalle.com): the
    mail is that company's, not the platform's. The platform sends from a system mailbox (a role,
    or its own product's name), the sender's name is another company's and the subject names it,
    and replies go to a domain the platform's vendor does not own."""
    name = s.sender.name.strip()
    local = s.sender.local
    system = s.role.startswith("mailbox") or bool(catalog.named_in(local) or catalog.product_of(local))
    if not system or len(name) < 3 or catalog.named_in(fold(name)) or catalog.product_of(name):
        return False
    if name.lower() not in s.message.subject.lower():
        return False
    for address in s.message.reply_to[:3]:
        owner = catalog.owner(address.domain) if address.domain else None
        if (
            address.domain
            and org_domain(address.domain) != s.reg
            and not (owner and s.owner and owner.vendor is s.owner.vendor)
        ):
            return True
    return False


def identify(s: Signals, catalog: Catalog) -> Identity:
    """Decide which vendor, if any, is behind the mail and whether it pretends to be one."""
    # A vendor's own domain that fails authentication is someone else using its name.
    if s.owner and s.auth.failed and not s.internal:
        return Identity(
            claimed=s.owner.vendor, claim_how="spoofed domain", evidence=f"{s.domain} with {s.auth.summary}"
        )
    if s.owner and _relayed(s, catalog):
        return Identity()
    if s.owner:
        return Identity(
            vendor=s.owner.vendor,
            vendor_name=s.owner.vendor.name,
            how="domain",
            evidence=f"{s.domain} is {s.owner.vendor.name}'s ({s.owner.kind})",
        )
    if s.internal or s.msp or s.allowlisted:
        return Identity()
    if s.lookalike:
        vendor, brand = s.lookalike
        if s.auth.passed and s.bulk_headers and not s.said("lure"):
            # A vendor's own mailing domain (autodeskcommunications.com): authenticated list mail.
            return Identity(
                vendor=vendor,
                vendor_name=vendor.name,
                how="esp",
                claimed=vendor,
                claim_how="display name",
                evidence=f"{s.domain} sends {vendor.name}'s list mail",
            )
        return Identity(claimed=vendor, claim_how="lookalike", evidence=f"{s.domain} imitates '{brand}'")
    homoglyph = _homoglyph(s, catalog)
    if homoglyph:
        return homoglyph
    if s.display_vendor:
        if s.auth.passed and s.bulk_headers and not s.freemail:
            # A vendor's newsletter sent from its mailing service's domain: authenticated bulk
            # mail under the vendor's name. Still open to impersonation if it also lures.
            return Identity(
                vendor=s.display_vendor,
                vendor_name=s.display_vendor.name,
                how="esp",
                claimed=s.display_vendor,
                claim_how="display name",
                evidence=f"'{s.sender.name[:60]}' via {s.domain} (authenticated bulk mail)",
            )
        # An agency's rep signs "Valentina Ruiz | Fortinet" and says it writes on Fortinet's behalf.
        agency = _agency(s, catalog) if s.auth.passed and not s.said("lure") else None
        if agency and agency.vendor is s.display_vendor:
            return agency
        return Identity(
            claimed=s.display_vendor,
            claim_how="display name",
            evidence=f"'{s.sender.name[:60]}' from {s.domain}",
        )
    agency = _agency(s, catalog)
    if agency:
        return agency
    # A billing desk or a support team does not write from free mail: there its checks prove nothing.
    unproven = not s.auth.passed or (s.freemail and bool(s.role) and not s.person)
    if unproven and len(s.said("lure")) >= 2:
        # No vendor in the address, but the lure speaks in a vendor's name.
        named = catalog.named_in(fold(f"{s.message.subject}\n{s.message.new_text[:400]}"))
        if named:
            return Identity(
                claimed=named, claim_how="content", evidence=f"lure in {named.name}'s name from {s.domain}"
            )
    unlisted = _unlisted_lure(s)
    if unlisted:
        return unlisted
    return unlisted_seller(s, catalog) or Identity()


def unlisted_seller(s: Signals, catalog: Catalog, min_hints: int = 2) -> Identity | None:
    """A company no list names that writes about technology of its own, with at least
    `min_hints` hints of it (three for a sender in another trade). The classifier asks again with
    one hint when the mail pitches hard."""
    if s.internal or s.msp or s.allowlisted:
        return None
    if s.freemail:
        # A rep writing from a personal address, for a company it names as its own.
        name, site = _company_of_freemail(s)
        tech = _unknown_vendor(s, catalog, site, min_hints) if name else []
        if not tech:
            return None
        return Identity(
            vendor_name=name,
            how="unknown",
            evidence=f"{name} (its rep writes from {s.sender.address}) about its technology: {few(tech, 3)}",
        )
    tech = _unknown_vendor(s, catalog, s.reg, min_hints)
    if not tech:
        return None
    name = org_name(s)
    return Identity(
        vendor_name=name,
        how="unknown",
        evidence=f"{name} ({s.reg}) writes about its own technology: {few(tech, 3)}",
    )


def _squash(text: str) -> str:
    """Letters and digits only, accents dropped: "Clínica Manager" and "clinicamanager" match."""
    return re.sub(r"[^a-z0-9]", "", (text if text.isascii() else unidecode(text)).lower())


_WEBSITE = re.compile(r"\b(?:www\.)?([a-z0-9][a-z0-9-]*(?:\.[a-z]{2,})+)\b", re.IGNORECASE)


def _company_of_freemail(s: Signals) -> tuple[str, str]:
    """(name, domain) of the company a person writing from a free-mail address names as theirs:
    a word of the address ("rahulmehta.invoicesetu@gmail.com") that the mail spells as a name
    ("InvoiceSetu Technologies"), and the website of that name if the signature gives one; else the
    company it signs with (_signed_company); else, for mail in another script, a word of the
    address (_address_company). ("", "") when there is none, or when the mail pressures to pay or
    sign in (a lure)."""
    if not s.person or len(s.said("lure")) >= 2:
        return "", ""
    person = _squash(s.sender.name)
    sites = [
        reg
        for found in _WEBSITE.finditer(s.message.signature[:600])
        if (reg := registrable(found.group(1).lower())) and reg not in FREEMAIL and reg not in SOCIAL
    ]
    pieces = [p for p in re.split(r"[._+\-\d]+", s.sender.local)[:8] if _company_word(p) and p not in person]
    if s.said("personal_address"):
        # "Sorry for writing from my private address": the company is the one whose website it signs with.
        pieces += [label for site in sites if _company_word(label := site.split(".")[0].replace("-", ""))]
    text = f"{s.message.signature[:1500]}\n{s.message.new_text[:1500]}" if pieces else ""
    names = [
        (m.group(1), _squash(m.group(1)))
        for m, _ in zip(_CAPITALISED.finditer(text), range(200), strict=False)
    ]
    for piece in pieces:
        # "InvoiceSetu" for "invoicesetu" (the name alone first); else "Ocelot Vision" for "ocelot"
        exact = [(name, squashed) for name, squashed in names if squashed == piece]
        for name, squashed in exact or names:
            if squashed == piece or (squashed.startswith(piece) and len(piece) >= 6):
                site = next((reg for reg in sites if reg.replace("-", "").startswith(piece)), "")
                return name, site or f"{squashed}.invalid"  # no website: a name, not a real domain
    signed = _signed_company(s)
    if signed and not _customers_own(s, signed):
        return signed, f"{_squash(signed)}.invalid"
    word = _address_company(s, pieces)
    return (word.title(), f"{word}.invalid") if word else ("", "")


def _customers_own(s: Signals, company: str) -> bool:
    """Is `company` the customer's own ("Contoso Clinic Ltd" at contoso-clinic.com)? A colleague
    on free mail signs with it too."""
    words = company.split()
    first = _squash(words[0]) if words else ""
    return len(first) >= 4 and any(first in _squash(domain.partition(".")[0]) for domain in s.tenant_domains)


def _address_company(s: Signals, pieces: list[str]) -> str:
    """A mail in Arabic or Hindi cannot spell the address's company in Latin letters ("فارما بلس"
    for khaled.omari.pharmaplus@): the last word of the address, when the sender's Latin display
    name shows it is no spelling of their own name ("mohammed" for "Mohamed"); else ""."""
    name = s.sender.name
    if not pieces or not name or not name.isascii() or not _in_other_script(s.message.new_text):
        return ""
    own = [_squash(word) for word in name.split()]
    word = pieces[-1]
    return "" if any(part[:4] == word[:4] for part in own if len(part) >= 3) else word


_LETTER = re.compile(r"[^\W\d_]")
_LATIN_LETTER = re.compile(r"[a-zA-Z]")


def _in_other_script(text: str) -> bool:
    """Are most letters of the text's opening not ASCII (Arabic, Devanagari, Cyrillic…)?"""
    opening = text[:600]
    return not opening.isascii() and len(_LETTER.findall(opening)) > 2 * len(_LATIN_LETTER.findall(opening))


def _signed_company(s: Signals) -> str:
    """The company a seller signs with: with its legal form ("FermSense, s. r. o.", "VoxLink
    ЕООД", with or without a title), next to their sales title ("Ejecutivo comercial –
    VigíaMóvil"), or after their own name in the opening lines; else ""."""
    signature = s.message.signature[:600]
    registered = _REGISTERED.search(signature) or _REGISTERED_QUOTED.search(signature)
    if registered and _company_word(_squash(registered.group(1))):
        return registered.group(1)
    if s.said("sales_role"):
        titled = _titled_company(s)
        if titled:
            return titled
    return _introduced_company(s)


# What parts a title from the company on a signature line: "Account Executive – BayaniFiber",
# "Sales Manager | Ocelot", "Vertrieb, Kornfeld Systems".
_TITLE_SEPARATOR = re.compile(r"[ \t]+[–—·-][ \t]+|[ \t]*[|,][ \t]*")
_COMPANY_NAME = re.compile(r"[^\W\d_][\w&'.-]*(?:[ \t][^\W\d_][\w&'.-]*){0,2}")
# A brand written with a capital or a digit inside a word ("BayaniFiber", "VigíaMóvil", "Menuiz
# 3D"); regions next to a title ("Sales Director, Europe", "North West") are not written so.
_BRAND_SPELLING = re.compile(r"\w[A-Z\d]|\b\d")
# The word before a place: "across Europe", "in Gauteng", "en Guadalajara".
_PLACE_BEFORE = re.compile(
    r"\b(?:in|across|around|throughout|within|near|en|em|à|au|aux|im|nel|nella|w|v|na|no)[ \t]+$",
    re.IGNORECASE,
)


def _titled_company(s: Signals) -> str:
    """The brand named next to the sender's sales title on a line of the signature, when the
    opening lines name it too; else "". Of several, one spelled like a brand, else the one the
    opening names most often ("Sales Executive, Lagos | Ledgerly")."""
    roles = s.said("sales_role")
    text = s.message.new_text[:1500]
    opening = _squash(text)
    candidates: list[tuple[bool, int, str]] = []
    for line in s.message.signature[:600].splitlines()[:10]:
        lowered = line.lower()
        if not any(role in lowered for role in roles):
            continue
        for part in _TITLE_SEPARATOR.split(line.strip()):
            part = part.partition("(")[0].strip()  # "BayaniFiber Business (Visayas)"
            squashed = _squash(part)
            if (
                part[:1].isupper()
                and _COMPANY_NAME.fullmatch(part)
                and not part.isupper()
                and not any(role in part.lower() for role in roles)
                and _company_word(squashed)
                and squashed not in _squash(s.sender.name)
                and squashed in opening
            ):
                branded = bool(_BRAND_SPELLING.search(part))
                named = _times_named_as_company(part, text)
                if branded or named:
                    candidates.append((branded, named, part))
    return max(candidates)[2] if candidates else ""


def _times_named_as_company(name: str, opening: str) -> int:
    """How often the opening lines speak of `name` other than as a place ("the team behind
    Ledgerly" counts, "in Gauteng" does not)."""
    spots = [
        m.start() for m, _ in zip(re.finditer(rf"\b{re.escape(name)}\b", opening), range(10), strict=False)
    ]
    return sum(not _PLACE_BEFORE.search(opening, max(0, at - 20), at) for at in spots)


# "<the sender's name> from <Company>": "Beau Guidry w/ Briefcase DMS here", "Ramiro Salcedo de
# PuntoMasa", "Kyle here from Haulsight".
_FROM_A_COMPANY = r"(?:from|with|w/|de|da|di|del|von|van|chez|bei)"
_NAME_WORD = r"[A-Z][\w&'-]+"
_COMPANY_WORDS = rf"({_NAME_WORD}(?:[ \t]{_NAME_WORD}){{0,2}})"
# "chez Sentinelle on protège", "here at Ledgerly we": the writer's own workplace.
_AT_A_COMPANY = re.compile(rf"\b(?:[Cc]hez|[Hh]ere at|[Ww]e at|[Uu]s at)[ \t]+{_COMPANY_WORDS}")


def _introduced_company(s: Signals) -> str:
    """The company a person names as theirs in the opening lines, as their workplace ("chez
    Sentinelle on protège") or right after their own name ("I'm Hamish Doyle from OptiQueue"), and
    again in the signature, or "". Not a surname ("Ana de Souza"), a town or a department: the
    signature must name it too."""
    names = s.sender.name.split()[:4]
    if not names or len(names[0]) < 2:
        return ""
    opening = s.message.new_text[:1500]
    found = list(islice(_AT_A_COMPANY.finditer(opening), 10))
    if s.said("introduction"):
        own = re.escape(names[0]) + "".join(f"(?:[ \t]+{re.escape(n)})?" for n in names[1:])
        introduced = re.search(
            rf"\b{own}(?:[ \t]+here)?[ \t]+{_FROM_A_COMPANY}[ \t]+{_COMPANY_WORDS}", opening
        )
        found += [introduced] if introduced else []
    signature, own_name = _squash(s.message.signature[:600]), _squash(s.sender.name)
    for match in found:
        company = match.group(1)
        squashed = _squash(company)
        if _company_word(squashed) and squashed not in own_name and squashed in signature:
            return company
    return ""


# Words of an address that name no company: "john.sales@", "info.acme@".
_NOT_COMPANIES = frozenset(
    {"sales", "info", "office", "admin", "contact", "mail", "email", "team", "work", "business",
     "ventas", "vendas", "ventes", "vendite", "verkauf", "vertrieb"}
)  # fmt: skip


# A company name followed by its legal form, at the start of a signature line.
_REGISTERED = re.compile(
    r"^[ \t]*([^\W\d_][\w&'-]*(?:[ \t][^\W\d_][\w&'-]*){0,2}),?[ \t]+"
    r"(?:Ltd|LLC|Inc|GmbH|AG|S\.?A|S\.?L|S\.?r\.?l|SRL|s\.[ \t]?r\.[ \t]?o|d\.o\.o|Sp\.[ \t]z[ \t]o\.o|Oy|AB|AS|A/S|ApS|"
    r"B\.?V|N\.?V|Kft|Zrt|SIA|UAB|OÜ|ЕООД|ООД|ООО|ТОО|Teo|Pty|Pvt|Bhd|Sdn[ \t]Bhd|Co\.,?[ \t]Ltd)\b\.?",
    re.MULTILINE,
)
# Or, in Russian, Ukrainian or Kazakh style, its legal form first and the name in quotes:
# 'ТОВ «ЕнергоЩит»', 'ООО "Сфера"', 'ЖШС «Дала»'.
_REGISTERED_QUOTED = re.compile(
    r"^[ \t]*(?:ТОВ|ТОО|ООО|ОДО|ЗАО|ОАО|ПАО|ПрАТ|АО|ИП|ФОП|ЧП|ЖШС)[ \t]+[«\"„]([^»\"“\n]{2,40})[»\"“]",
    re.MULTILINE,
)


def _company_word(piece: str) -> bool:
    return len(piece) >= 4 and piece not in _NOT_COMPANIES


def _unlisted_lure(s: Signals) -> Identity | None:
    """Phishing in the name of a company no list names: pressure to pay or sign in from mail that
    does not prove where it came from (what it takes is spelled out below). The company it claims to be is the one in the sender's name ("Vetrix Billing" at
    vetrix-payments.co)."""
    lures = s.said("lure")
    if s.freemail or not lures:
        return None
    elsewhere = [reg for a in s.message.reply_to[:3] if a.domain and (reg := org_domain(a.domain)) != s.reg]
    # Signs of a forgery besides the words: failed authentication, no authentication at all
    # (no SPF either), a web script as sender, replies sent elsewhere (twice over to free mail).
    forged = (
        s.auth.failed
        + (s.auth.unsigned and s.auth.spf in ("none", "", "neutral"))
        + bool(s.message.header("x-php-originating-script"))
        + (2 if any(reg in FREEMAIL for reg in elsewhere) else bool(elsewhere))
    )
    if s.auth.passed:
        # A domain registered to look like a supplier passes its own checks: then it takes
        # replies sent to free mail and more than one pressure cue (a new bank account, a deadline).
        if not (any(reg in FREEMAIL for reg in elsewhere) and len(lures) >= 2):
            return None
    # A plain unsigned reminder ("due today, pay within 24 hours") is not enough: many pressure
    # cues, or pressure with signs of forgery.
    elif not (forged >= 2 or (forged and len(lures) >= 2) or (s.auth.unsigned and len(lures) >= 3)):
        return None
    label = _label(s.reg)
    words = [
        w for w in re.split(r"\s+", s.sender.name) if len(w) > 2 and (part := _squash(w)) and part in label
    ]
    name = " ".join(words) or org_name(s)
    if not name:
        return None
    return Identity(
        claimed=_unlisted_vendor(name, name.lower()),
        claim_how="unlisted",
        evidence=f"{len(lures)} pressure cues from {s.domain} ({s.auth.summary})",
    )


def _homoglyph(s: Signals, catalog: Catalog) -> Identity | None:
    """An internationalised domain whose letters fold to plain Latin ("xn--wbfleet-…" for
    "wеbfleet" with a Cyrillic е) exists to look like another name: whoever's, it is a lure."""
    labels = [label for label in s.domain.split(".") if label.startswith("xn--")]
    for label in labels:
        folded = skeleton(label)
        if re.fullmatch(r"[a-z0-9-]+", folded):
            named = catalog.named_in(fold(s.sender.name)) if s.sender.name else None
            return Identity(
                claimed=named or _unlisted_vendor(folded.title(), folded),
                claim_how="lookalike",
                evidence=f"{s.domain} spells '{folded}' with look-alike letters",
            )
    return None


# A company name that says what it makes: "Vetanpro Technologies Pvt. Ltd.", "AgroSafra Sistemas".
# Not "Digital" or "Solutions": marketing agencies and office suppliers use those too.
_TECH_TITLE = re.compile(
    r"\b(technolog(?:y|ies|ie|ia|ias|ii)|tecnolog(?:ia|ias|ías|ie|ía)|teknoloji(?:leri)?|tech|software|softwares|"
    r"systems?|systeme|systemer|systemen|sistemas?|"
    r"sistemi|labs?|cloud|robotics|analytics|networks?|telecoms?|telematics|pos)\b",
    re.IGNORECASE,
)


def _tech_title(s: Signals, reg: str) -> str:
    """The technology word in the company name the sender signs with, or ""."""
    label = _label(reg)
    if len(label) < 3:
        return ""
    # No signature split off (no name line found): the last lines are where it would be.
    signature = s.message.signature or s.message.new_text[-400:]
    for line in signature.splitlines()[:12]:
        if label in _squash(line):
            found = _TECH_TITLE.search(line)
            if found:
                return found.group(1).lower()
    return ""


# Offer words (any language in phrases.toml) that mean trying a product out.
_TRIAL_STEMS = (
    "demo", "démo", "trial", "pilot", "poc", "proof of concept", "test", "prueba", "prova", "proef", "próba",
    "zkušeb", "skúšob", "deneme", "kokeil", "essai", "体験", "トライアル", "試用", "デモ", "데모", "체험",
    "ทดลอง", "dùng thử", "uji coba", "majaribio", "ניסיון", "הדגמ", "تجرب", "डेमो", "ट्रायल", "पायलट",
    "δοκιμ", "пробн", "пілот", "тестов", "próbn", "percuba", "试用", "proovi", "piloot", "izmēģin",
    "bandom", "išbandy",
    "lend", "loan", "leih", "prêter", "préstamo", "prestarle", "bruikleen", "comodato", "zapůjč", "låns",
    "preizkus", "poskusn", "probn", "isproba", "испроба", "демо", "пилот", "проб", "изпробва",
    "dimostrazion", "uitprob", "probe", "prøve", "provperiod", "provversion", "provkör", "演示", "试点",
    "試點", "آزمایش", "تست", "دمو", "پایلوت", "نمایش محصول", "percubaan", "cubaan", "tunjuk cara", "rintis",
    "proba", "probaldi", "pilotu", "triail", "trialach", "píolót", "prufu", "prufa", "prófaðu",
    "reynslutímabil", "sýnikennsl", "tilraunaverkefn",
)  # fmt: skip


def _unknown_vendor(s: Signals, catalog: Catalog, reg: str, min_hints: int) -> list[str]:
    """A company no list names that makes technology and talks about itself: its name (from its
    domain `reg`) appears in the mail, its words are technology words, and it is no IT-services
    firm. The labels it may get still depend on how it wrote (bulk, system, or a person pitching).
    Returns the technology it talks about (empty when it is no such company)."""
    trade = other_trade(s)
    if trade == 2:  # a company of another trade by its own name: whatever it says about technology
        return []
    tech = _tech_hints(s, catalog, reg)
    if len(tech) < (3 if trade else min_hints) or not _names_itself(s, reg):
        return []
    return tech


_RESELLER_PARTS = (
    "licens", "licenc", "reseller", "managedit", "managedservice", "managedsecurity", "managednetwork",
    "managedcloud", "itsolution", "itservice", "itsupport",
)  # fmt: skip
_IT_FIRM_WORDS = frozenset(
    {
        "it",
        "ict",
        "edv",
        "informatique",
        "informatica",
        "informática",
        "informatik",
        "itservice",
        "itsupport",
        "managedit",
        "msp",
        "itpartner",
        "itsolutions",
        "infogerance",
        "infogérance",
        "informatiikka",
        "bilişim",
        "bilisim",
        "informatyka",
        "informatika",
        "informatikk",
        "itdrift",
        "systemhaus",
    }
)


def it_firm_named(s: Signals) -> str | None:
    """A sender whose company name reads as an IT-services firm ("limmat-it.ch", "Léman Informatique")."""
    if not s.reg or s.freemail:
        return None
    label = s.reg.split(".")[0]
    pieces = set(re.split(r"[-_.]", label))
    # The sender's name, and its company's name as the signature spells the domain ("Moncayo IT").
    name_words = set(re.findall(r"\w+", f"{s.sender.name} {org_name(s)}".lower()))
    found = sorted((pieces | name_words) & _IT_FIRM_WORDS)
    found += [part for part in _RESELLER_PARTS if part in label]
    if label.endswith("managed"):  # "forthmanaged.co.uk", not "managedpayroll.com"
        found.append("managed")
    return f"{s.reg}: {found[0]}" if found else None


def _tech_hints(s: Signals, catalog: Catalog, reg: str) -> list[str]:
    """What says the company at `reg` makes technology: its words, its name, what its product
    does, a product to try. Empty for an IT-services firm."""
    if s.social or not reg:
        return []
    # IT-services words make it an IT firm, unless there is one such word and the mail talks
    # about going around the customer's provider and its own name is no IT firm's: then the
    # word is most likely that provider ("Lakeshore IT Partners looks after your systems").
    providers = {word.replace("-", " ") for word in s.said("it_provider")}  # "it partner", "it-partner"
    about_their_provider = len(providers) == 1 and s.said("bypass") and not it_firm_named(s)
    if s.said("it_provider") and not about_their_provider:
        return []
    # Words that name another vendor's product ("Microsoft 365") say the sender works with that
    # vendor (a reseller, a trainer), not that it makes technology of its own.
    tech = _distinct([t for t in s.said("tech") if not (catalog.named_in(t) or catalog.product_of(t))])
    named_for_tech = tech_name(reg) or _tech_title(s, reg)
    if named_for_tech:
        # Its name counts once: "Vltava Cloud" in the signature is not also a word about cloud.
        own = reg.partition(".")[0].replace("-", "")
        tech = [t for t in tech if len(t) < 4 or t.replace(" ", "") not in own]
        tech.append(f"its name ({named_for_tech})")
    # What only a product does ("automatically", "in real time"), and what only a product has
    # ("release notes", "product updates"): each counted once.
    able = s.said("capability")
    if able:
        tech.append(f"what it does ({able[0]})")
    news = s.said("product_news")
    if news:
        tech.append(f"its product's news ({news[0]})")
    # A demo, trial or pilot on offer is a product to try: software or a device, most often.
    trial = next((o for o in s.said("offer") if any(stem in o for stem in _TRIAL_STEMS)), "")
    if trial:
        tech.append(f"a product to try ({trial})")
    return tech


# Letters that transliteration from another script spells another way: "СекурЛог" reads
# "sekurlog" for securlog.kz, "Звязок" reads "zviazok" for zvyazok.
_SOUNDS = str.maketrans({"c": "k", "q": "k", "y": "i", "j": "i", "w": "v"})


def _sound(squashed: str) -> str:
    return squashed.translate(_SOUNDS)


# German domains spell umlauts with an e: "Kühlwacht" at kuehlwacht.de.
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"})


def _names_itself(s: Signals, reg: str) -> bool:
    """The company at `reg` names itself: in the text, its logo's name, or through links to its
    own website."""
    label = _label(reg)
    if len(label) < 3:
        return False
    if any(registrable(link.domain) == reg for link in s.message.links[:50]):
        return True
    squashed = re.sub(
        r"[^a-z0-9]",
        "",
        f"{s.message.subject} {s.message.new_text[:3000]} {s.message.signature} "
        f"{s.sender.name} {s.message.quoted[:2000]} {' '.join(s.message.image_alts)}".lower(),
    )
    if label in squashed:
        return True
    named = f"{s.sender.name} {s.message.signature[:600]} {s.message.new_text[:1500]}"
    if not named.isascii() and (
        label in (spelled := _squash(named))
        or _sound(label) in _sound(spelled)
        or label in _squash(named.translate(_UMLAUTS))
    ):  # "Clínica Manager", "BaskıPro"; "СекурЛог" is "sekurlog" for securlog.kz; "Kühlwacht", kuehlwacht.de
        return True
    signed = f"{s.sender.name} {s.message.signature}"
    # The shorter name the domain starts with, as a word of a person's name or signature (a
    # system sender so named is as likely a lookalike: "datenschild-cloud.de").
    short = _short_label(reg) if s.person else ""
    if short and short in re.findall(r"[a-z0-9]+", unidecode(signed[:600]).lower()):
        return True
    # A name written in Thai, Arabic or Japanese cannot be compared with a Latin domain: a
    # person signing in such a script, or writing in it from a free-mail address that names the
    # company, is taken at the word of the technology they sell.
    named_by_address = (
        s.freemail and label in _squash(s.sender.local) and _in_other_script(s.message.new_text)
    )
    return bool(s.person and (UNSPACED.search(signed) or named_by_address))


def other_trade(s: Signals) -> int:
    """An insurer, a recruiter or an SEO agency talks about technology too ("cyber insurance",
    "a Head of IT role"). The trade must be the sender's: 2 when its signature or name says so
    ("Nordisk Erhvervsforsikring A/S"), 1 when the subject names it or the text twice ("show the
    report to your insurer" is someone else's), else 0."""
    trade = s.said("other_trade")
    if not trade:
        return 0
    own = " " + " ".join(tokenize(f"{s.message.signature[:2000]}\n{s.sender.name}"))
    if any(_said_in(word, own) for word in trade):
        return 2
    subject = " " + " ".join(tokenize(s.message.subject))
    return int(len(trade) >= 2 or any(_said_in(word, subject) for word in trade))


def _said_in(phrase: str, words: str) -> bool:
    """`phrase` (as phrases.scan reports it) is among `words` (tokens joined by spaces, with a
    leading space); a compound ending ("forsikring") may end a word."""
    phrase = " ".join(tokenize(phrase))
    return f" {phrase}" in words or (len(phrase) >= 6 and f"{phrase} " in f"{words} ")


def _distinct(words: list[str]) -> list[str]:
    """Without words that are the start of another ("softwar*" in German and "software*" in
    English both find "software": one word, not two)."""
    return [w for w in words if not any(o != w and o.startswith(w) for o in words)]
