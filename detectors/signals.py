"""Facts about one message, computed once and read by every rule.

Signals are observations, not judgements: who the sender is (vendor domain, lookalike,
person or system, the MSP, the customer), how the mail was sent (authenticated, bulk
platform, sales-engagement tool, one-to-one), where it sits in a thread, and which
phrase lists its newest text hits. The rules (detectors/rules.py) weigh them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from detectors.message import Address, Message
from detectors.phrases import phrase_index, tokenize
from detectors.text import IDEOGRAPHIC, MARKED, fold
from detectors.vendors import (
    FREEMAIL,
    MARKETING_LABELS,
    Catalog,
    DomainMatch,
    Vendor,
    org_domain,
    subdomain,
)

MAX_EARLIER_CHARS = 4000  # of a seller's own earlier mail, quoted below its follow-up

# --- sender kinds -----------------------------------------------------------------------------

_ROLE_LOCAL = re.compile(
    r"(^|[._+-])(no-?reply|do-?not-?reply|donotreply|noreply|notifications?|notify|alerts?|billing|invoices?|"
    r"orders?|shipping|support|service|services|help|helpdesk|info|news|newsletters?|marketing|mailer|"
    r"mail|email|e-?mail|team|hello|accounts?|security|admin|postmaster|automated|system|messages?|"
    r"updates?|store|receipts?|payments?|digest|o365mc|mc|reply|bounces?|feedback|events?|community|"
    r"customerservice|care|sales|contact|enquiries|inquiries|office|reception|invitations|jobs)"
    r"([._+0-9-]|$)",
    re.IGNORECASE,
)
_ROLE_NAME = re.compile(
    r"\b(team|support|alerts?|billing|store|notifications?|service|services|center|centre|admin|digest|"
    r"no-?reply|customer|orders?|security|account team|message center|health|helpdesk|desk|department|"
    r"automated|system|care|noc|operations|backup|monitoring|info|news|newsletter|marketing|portal|cloud|workspace|technologies|inc|ltd|llc|gmbh|"
    r"corporation|corp|sales|partners?|limited|company|distributing|distribution|distributors?|supplies|supply|"
    r"wholesale|trading|holdings|"
    # the same in other languages: billing, customer service, support
    r"rechnung|buchhaltung|kundenservice|kundendienst|facturation|facturaci[oó]n|facturas?|faturamento|"
    r"fatura|faturalama|fatturazione|assistenza|soporte|suporte|atendimento|klantenservice|facturatie|"
    r"fakturering|fakturace|kundeservice|kundtjänst|laskutus|asiakaspalvelu|ügyfélszolgálat|számlázás|"
    r"obsługa|destek|müşteri hizmetleri|podpora|zákaznick[aá]|"
    r"поддержк\w*|отдел\w*|служба|продаж\w*|υποστήριξη|εξυπηρέτηση|πωλήσεων|خدمة العملاء|الدعم|المبيعات|"
    r"שירות לקוחות|תמיכה|מכירות|고객센터|고객지원|영업팀|営業部|サポート|カスタマー|事務局)\b",
    re.IGNORECASE,
)
# Up to five characters, or two parts with a space ("佐藤真理子", "中村 大輔"); longer runs are
# company names ("かがやきビジネスマシンズ").
_CJK_NAME = rf"[{IDEOGRAPHIC}]{{1,5}}(?:\s[{IDEOGRAPHIC}]{{1,5}})?"
# Alphabetic scripts: a capital (any letter but a lower-case Latin one) then more words.
_LETTER = rf"[^\W\d_{IDEOGRAPHIC}]"  # CJK names have their own pattern
_CAPITAL = rf"[^\W\d_a-zß-ÿ{IDEOGRAPHIC}]"
# Particles of one letter count as words: "Colm Ó Flaithearta".
_LATIN_NAME = rf"{_CAPITAL}(?:{_LETTER}|['’.-])+(?:\s+{_LETTER}(?:{_LETTER}|['’.-])*){{1,3}}"
# Scripts whose vowel signs are not word characters to `re`: Hebrew, Arabic, Devanagari, Thai.
_MARKED = rf"[{MARKED}]{{2,20}}"
_MARKED_NAME = rf"{_MARKED}(?:\s{_MARKED}){{1,3}}"
_PERSON_NAME = re.compile(
    r"^(?:(?:DI|Dr|Dra|Mag|Ing|Prof)\.?\s+)?"  # titles: "DI Markus Leitner", "Dr. Anna Weber"
    r"(?:[A-ZÀ-ÖØ-Þ][\w'’.-]+,\s*[A-ZÀ-ÖØ-Þ][\w'’.-]+"  # "Brennan, Kyle"
    rf"|{_LATIN_NAME}(?:\s+{_CJK_NAME})?"  # "Kyle Brennan", "Ana Lucia Mendes", "Jia-Wei Lin 林佳蔚"
    rf"|{_CJK_NAME}(?:\s+{_LATIN_NAME})?"  # "佐藤 真理子", "陈晓雯 Vivian Chen"
    rf"|{_MARKED_NAME})"  # "ธนพล วงศ์สวัสดิ์", "अंकित शर्मा"
    # credentials, not legal forms: "Sam Okonkwo, PT, DPT", "Jane Doe, PhD" (not "Kvittra Sverige, AB")
    r"(?:,\s*(?!(?:AB|AG|AS|ApS|BV|GmbH|Inc|KG|Kft|LLC|LLP|Ltd|NV|Oy|PLC|SA|SAS|SL|SpA|Srl)\b)[A-Z][A-Za-z]{1,4}\.?){0,3}"
    r"(?:\s*\([^)]*\))?"  # "(brayates)", "(Brightmark Solutions LLC)", "(Sunghoon Lee)"
    r"(?:(?:\s*[|–—-]\s*|\s/\s)[^|]{2,60})?$"  # "Camila Duarte | Radiovisio", "山口 翔太 / Shota Yamaguchi"
)

# --- how the mail was sent --------------------------------------------------------------------

# Headers left by marketing/bulk platforms: exact names, then name prefixes.
BULK_HEADERS = frozenset(
    [
        "list-unsubscribe",
        "list-id",
        "x-marketoid",
        "x-mktmaildkim",
        "x-sfmc-stack",
        "x-job",
        "x-csa-complaints",
        "x-msys-api",
        "x-binding",
        "x-mktarchive",
        "x-cid",
        "x-mid",
        "x-responsys",
        "x-acoustic",
        "x-braze",
        "x-iterable",
        "x-klaviyo",
        "x-sendinblue",
        "x-brevo",
        "x-constantcontact",
        "x-mailgun-tag",
    ]
)
BULK_PREFIXES = (
    "x-campaign",
    "x-mc-",
    "x-mailchimp",
    "x-elq",
    "x-eloqua",
    "x-pardot",
    "x-hs-",
    "x-hubspot-mktg",
    "x-linkedin",
    "x-mkt",
    "x-sg-campaign",
)
# Header names left by one-to-one sales-engagement tools (sequences sent as if by hand).
ENGAGEMENT_HEADERS = (
    "x-outreach",
    "x-salesloft",
    "x-hubspot-sales",
    "x-apollo",
    "x-lemlist",
    "x-mixmax",
    "x-yesware",
    "x-groove",
    "x-reply-io",
    "x-instantly",
    "x-smartlead",
    "x-woodpecker",
    "x-gong",
    "x-clari",
)
ENGAGEMENT_MAILERS = re.compile(
    r"outreach|salesloft|apollo|lemlist|mixmax|yesware|groove|reply\.io|instantly|smartlead|woodpecker|hubspot sales",
    re.IGNORECASE,
)
# Click-tracking hosts of those tools, for mail that carries no header of theirs. HubSpot's
# link host is also its newsletters': it counts only in mail that is not bulk.
ENGAGEMENT_LINK_HOSTS = re.compile(
    r"(?:^|\.)(salesloftlinks\.com|yesware\.com|mixmax\.com|lemlist\.com|reply\.io|woodpecker\.co|mailtrack\.io|"
    r"outreach\.io|apollo\.io|hubspotlinks\.com)$"
)
# The same tools behind the sender's own tracking domain ("go.acme.io") keep their link paths:
# Outreach's click links are /api/mailings/click/<base32 JSON>.
ENGAGEMENT_LINK_PATHS = ("/api/mailings/click/",)


def _engagement_path(url: str) -> bool:
    if not any(path in url for path in ENGAGEMENT_LINK_PATHS):  # cheap test first: most links
        return False
    try:
        return urlsplit(url).path.startswith(ENGAGEMENT_LINK_PATHS)
    except ValueError:  # a malformed URL ("http://[::1")
        return False


# Headers of ticketing, order and monitoring systems.
SERVICE_HEADERS = (
    "x-zendesk",
    "x-halo",
    "x-servicehealth",
    "x-freshdesk",
    "x-jira",
    "x-servicenow",
    "x-sophos-alert",
    "x-dell-order",
    "x-apple-order",
    "x-hp-case",
    "x-mc-digest",
    "x-autotask",
    "x-connectwise",
)
_REPLY_PREFIX = re.compile(r"^\s*((re|aw|sv|antw|rif|r|res|vs|odp|ynt|atb|ref)\s*(\[\d+\])?\s*:\s*)+", re.I)
_FORWARD_PREFIX = re.compile(r"^\s*((fw|fwd|wg|tr|rv|enc|i|doorst|vl|fs)\s*:\s*)+", re.I)
# References a system gives: a long number right after a word like case, ticket, order, invoice.
_LONG_NUMBER = re.compile(r"\b[A-Z]{0,4}-?\d{5,}")
_REFERENCE_WORD = re.compile(
    r"(trackingid|case|ticket|request|incident|order|invoice|receipt|sr|ref|rechnung|bestellung|auftrag|vorgang|"
    r"facture|commande|dossier|demande|pedido|factura|caso|solicitud|fattura|ordine|pratica|richiesta|factuur|"
    r"bestelling|melding|aanvraag|chamado|fatura|zgłoszenie|zamówienie|faktura|sprawa)"
    r"\s*(?:#|:|no\.?|nr\.?|n[°º]|number|nummer|numer|número|numero|id)?\s*[#:]?\s*$",
    re.IGNORECASE,
)
_SYSTEM_MARKER = re.compile(
    r"ref:_[\w.]+:ref|##- ?please type your reply above this line ?-##", re.IGNORECASE
)


_DIGIT_RUN = re.compile(r"\d{5,}")


def _references(text: str) -> list[str]:
    # Each search is guarded by a cheaper one: most mail has no marker, and the \b-anchored
    # number pattern only runs just before each run of digits (a match can start at most five
    # characters before its digits).
    found = []
    if "##" in text or "ref:_" in text.lower():
        found = [m.group(0)[:60] for m in _SYSTEM_MARKER.finditer(text)][:1]
    last = 0
    for run in _DIGIT_RUN.finditer(text):
        number = _LONG_NUMBER.search(text, max(last, run.start() - 6), run.end())
        if not number:
            continue
        last = number.end()
        before = text[max(0, number.start() - 24) : number.start()]
        word = _REFERENCE_WORD.search(before)
        if word:
            found.append(f"{word.group(0).strip()} {number.group(0)}"[:60])
            if len(found) >= 3:
                break
    return found


_MEETING_LINK = re.compile(
    r"(/bookings/|(?<![\w-])(?:calendly\.com|outlook\.office\.com/bookwithme|outlook\.office365\.com/owa/calendar|"
    r"meetings\.hubspot\.com|chilipiper\.com|zcal\.co|savvycal\.com|cal\.com/|doodle\.com|youcanbook\.me|"
    r"calendar\.app\.google|calendar\.google\.com/calendar/appointments|meetings\.salesloft|go\.oncehub\.com))\S*",
    re.IGNORECASE,
)
_CURRENCY_SIGNS = ("€", "$", "£", "¥", "₹", "₺", "円", "원")
_CURRENCY_CODES = frozenset(
    [
        "eur",
        "euro",
        "usd",
        "gbp",
        "chf",
        "kč",
        "czk",
        "zł",
        "pln",
        "kr",
        "sek",
        "nok",
        "dkk",
        "ft",
        "huf",
        "lei",
        "ron",
        "tl",
        "rs",
        "inr",
    ]
)
_CURRENCY = (
    "(?:"
    + "|".join(map(re.escape, _CURRENCY_SIGNS + tuple(sorted(_CURRENCY_CODES, key=len, reverse=True))))
    + ")"
)
_PERIOD = (
    r"(?:month|mo|monat|mois|mes|mês|mese|maand|miesiąc|miesięcznie|měsíc|měsíčně|mesiac|mesačne|månad|måned|"
    r"kuukausi|kk|ay|aylık|hónap|havonta|lună|lunar|μήνα|месяц|місяць|user|benutzer|nutzer|utilisateur|usuario|"
    r"usuário|utente|gebruiker|użytkownika|uživatele|användare|bruger|bruker|käyttäjä|kullanıcı|felhasználó|"
    r"utilizator|χρήστη|пользователя|seat|licen[cs]e|lizenz|licencia|licença|licenza|licentie|pokladnu|kasse|caisse|caja)"
)
_AMOUNT = r"\d{1,3}(?:[., ]\d{3})*(?:[.,]\d{1,2})?"
_PRICE_PER = re.compile(
    r"(?:"
    + _CURRENCY
    + r" ?"
    + _AMOUNT
    + r"|"
    + _AMOUNT
    + r" ?"
    + _CURRENCY
    + r")(?: (?:netto|net|\+ ?\w+))?"
    r"(?: ?/ ?| (?:per|pro|par|al|por|za|i|à|a|ao|no|au|each|pour) )" + _PERIOD + r"\b"
    r"|"
    + _AMOUNT
    + r" ?"
    + _CURRENCY
    + r" (?:měsíčně|miesięcznie|mesačne|monatlich|mensuel|mensual|mensais|mensile|"
    r"maandelijks|havonta|aylık)\b",
    re.IGNORECASE,
)
_HOUR_WORD_LIST = (
    "hour", "hours", "hrs", "stunden", "horas", "heures", "ore", "uur", "godzin", "godziny", "timer", "timmar",
    "tuntia", "tunnin", "saat", "óra", "órán", "hodin", "hodiny", "ωρών", "ώρες", "часов", "часа", "годин",
    "години", "jam", "giờ", "masaa", "oras",
)  # fmt: skip
_HOUR_WORDS = "|".join(_HOUR_WORD_LIST)
# Deadlines written after the number, without a space in Japanese, Chinese and Korean: "24時間以内".
_HOUR_SIGNS = ("時間以内", "時間以內", "시간 이내", "시간 내", "小时内", "小時內", "घंटे के भीतर")
_HOURS_DEADLINE = re.compile(
    r"(?:\b(?:within|in the next|innerhalb von|innerhalb der nächsten|innerhalb|binnen|dans les|sous|en las próximas|"
    r"en|nas próximas|em|entro|w ciągu|inom|inden for|innen|během|în|dalam|trong|εντός|в течение|протягом|"
    r"ภายใน|בתוך|خلال|ndani ya)\s+"
    r"(\d{1,2})\s*(?:"
    + _HOUR_WORDS
    + r")\b)|(?:\b(\d{1,2})\s*(?:"
    + _HOUR_WORDS
    + r")\s+(?:içinde|belül|alatt|sisällä|kuluessa)\b)|"
    r"(?:(\d{1,2})\s*(?:" + "|".join(_HOUR_SIGNS) + "))",
    re.IGNORECASE,
)
_HOUR_TOKENS = frozenset(_HOUR_WORD_LIST)
_CURRENCY_CODE = re.compile(
    r"\b(?:" + "|".join(sorted(_CURRENCY_CODES, key=len, reverse=True)) + r")\b", re.IGNORECASE
)
_HOUR_WORD = re.compile(r"\b(?:" + _HOUR_WORDS + r")\b", re.IGNORECASE)


def _price(text: str, codes: bool) -> str:
    """A price per month or per user ("€12 per user", "490 Kč měsíčně"), or "". Matched only
    where a currency is written (`codes`: the text has a currency code as a word), from the
    currency or from the amount just before it."""
    spots = _spots(text, _CURRENCY_SIGNS, _CURRENCY_CODE if codes else None)
    for at in spots:
        starts = [at]
        back = at
        while back > 0 and back > at - 14 and (text[back - 1].isdigit() or text[back - 1] in " .,"):
            back -= 1
        while back < at and not text[back].isdigit():
            back += 1
        if back < at:
            starts.append(back)
        for start in starts:
            found = _PRICE_PER.match(text, start)
            if found:
                return found.group()
    return ""


def _spots(text: str, signs: tuple[str, ...], words: re.Pattern[str] | None) -> list[int]:
    """Where the signs and the words occur in the first 6,000 characters: the first few of each
    sign and of the words, in text order."""
    spots: list[int] = []
    for sign in signs:
        at, count = text.find(sign, 0, 6000), 0
        while at >= 0 and count < 4:
            spots.append(at)
            at, count = text.find(sign, at + 1, 6000), count + 1
    if words:
        spots.extend(found.start() for found, _ in zip(words.finditer(text, 0, 6000), range(8), strict=False))
    return sorted(spots)


def _near(
    pattern: re.Pattern[str],
    text: str,
    signs: tuple[str, ...],
    words: re.Pattern[str] | None,
    *,
    before: int,
    after: int,
) -> re.Match[str] | None:
    """`pattern` searched only around where its key words or signs occur: a regular expression
    over a whole text costs a hundred times more."""
    for at in _spots(text, signs, words):
        found = pattern.search(text, max(0, at - before), min(len(text), at + after))
        if found:
            return found
    return None


# Words every booking link above contains: the expression runs only on text with one of them.
_BOOKING_KEYS = (
    "calendly",
    "bookwithme",
    "calendar",
    "/bookings/",
    "meetings.",
    "chilipiper",
    "zcal.",
    "savvycal",
    "cal.com/",
    "doodle.",
    "youcanbook",
    "oncehub",
)
_AUTH_RESULT = re.compile(r"\b(spf|dkim|dmarc|compauth)=(\w+)", re.IGNORECASE)
_HEADER_D = re.compile(r"header\.d=([\w.-]+)", re.IGNORECASE)
SOCIAL = frozenset(
    [
        "linkedin.com",
        "facebookmail.com",
        "facebook.com",
        "twitter.com",
        "x.com",
        "instagram.com",
        "youtube.com",
        "meetup.com",
        "xing.com",
        "slack.com",
        "github.com",
    ]
)


@dataclass(frozen=True, slots=True)
class Auth:
    spf: str = ""
    dkim: str = ""
    dmarc: str = ""
    compauth: str = ""
    dkim_domains: tuple[str, ...] = ()
    present: bool = False

    @property
    def passed(self) -> bool:
        return self.dmarc == "pass" or self.compauth == "pass" or (self.dkim == "pass" and self.spf == "pass")

    @property
    def failed(self) -> bool:
        return (
            self.dmarc == "fail"
            or self.compauth == "fail"
            or (self.spf in ("fail", "softfail") and self.dkim != "pass")
        )

    @property
    def summary(self) -> str:
        parts = [f"{k}={v}" for k, v in (("spf", self.spf), ("dkim", self.dkim), ("dmarc", self.dmarc)) if v]
        return " ".join(parts) or "no authentication results"

    @property
    def unsigned(self) -> bool:
        return (
            self.present
            and self.dkim in ("none", "", "fail", "neutral")
            and self.dmarc in ("none", "", "fail")
        )


def parse_auth(message: Message) -> Auth:
    value = message.header("authentication-results")
    if not value:
        return Auth()
    results: dict[str, str] = {}
    for key, result in _AUTH_RESULT.findall(value):
        results.setdefault(key.lower(), result.lower())
    return Auth(
        spf=results.get("spf", ""),
        dkim=results.get("dkim", ""),
        dmarc=results.get("dmarc", ""),
        compauth=results.get("compauth", ""),
        dkim_domains=tuple(d.lower() for d in _HEADER_D.findall(value)),
        present=True,
    )


@dataclass
class Signals:
    message: Message
    sender: Address
    domain: str
    reg: str
    owner: DomainMatch | None
    lookalike: tuple[Vendor, str] | None
    display_vendor: Vendor | None  # a vendor the display name claims to be
    auth: Auth
    internal: bool
    msp: bool
    freemail: bool
    social: bool
    allowlisted: str
    person: bool
    role: str  # why the sender looks like a system/role mailbox, "" when it does not
    bulk_headers: list[str]
    marketing_label: str  # the sending host's marketing label (e.dell.com -> "e"), or ""
    engagement: list[str]
    service_headers: list[str]
    recipients: int
    personal_greeting: str
    reply: bool
    forward: bool
    thread_starter: str  # address (or name) of the oldest quoted sender, "" when unknown
    own_thread: bool  # the oldest quoted message is the sender's own: it is following up
    references: list[str]
    meeting_links: list[str]
    phrases: dict[str, list[str]]
    tenant_domains: frozenset[str] = frozenset()

    def said(self, category: str) -> list[str]:
        return self.phrases.get(category, [])


# "AI" between capitalised words is a heading ("INFORMATIVA AI SENSI", "J'AI"), not a product.
_AI = re.compile(r"(?<![A-Za-z'’])(?<![A-Z][ \t])AI(?![A-Za-z])(?![ \t][A-Z]{2})")
MAX_AI_CHARS = 20_000


# A company named for technology ("vltavacloud.cz", "sahelnet.sn", "quillguard.io"): one hint
# that a sender no list names makes technology. Never enough alone: the text must name
# technology too (detectors/attribution.py, _unknown_vendor).
_TECH_NAME_PARTS = (
    "cloud", "soft", "tech", "secur", "cyber", "data", "network", "netz", "nett", "systems",
    "byte", "host", "server", "backup", "telecom", "fibre", "fiber", "fibra", "guard", "storage",
    "voip", "wifi", "tronic", "compute", "krypt", "crypt",
)  # fmt: skip
_TECH_NAME_ENDINGS = ("net", "sys", "labs")
_TECH_SUFFIXES = frozenset(
    ["io", "ai", "tech", "cloud", "app", "dev", "software", "systems", "network", "security"]
)


def tech_name(reg: str) -> str:
    """The part of a registrable domain that names technology, or ""."""
    label, _, suffix = reg.partition(".")
    label = label.replace("-", "")
    for part in _TECH_NAME_PARTS:
        if part in label:
            return part
    if label.endswith(_TECH_NAME_ENDINGS):
        return next(e for e in _TECH_NAME_ENDINGS if label.endswith(e))
    return f".{suffix}" if suffix in _TECH_SUFFIXES else ""


_NOT_ALNUM = re.compile(r"[\W_]+")


def _outside_msp_name(words: list[str], lowered: str, msp_domains: frozenset[str]) -> list[str]:
    """The IT-services words that the text says somewhere else than in the MSP's own name: the
    name its domain spells ("highveld" of highveld-mit.co.za, "prairiepoint") written right
    before the word ("Highveld Managed IT", "Prairie Point Technology Partners")."""
    names = tuple(
        piece
        for domain in msp_domains
        if "@" not in domain
        for piece in re.split(r"[-_.0-9]+", domain.split(".")[0])
        if len(piece) >= 5
    )
    if not names:
        return words
    kept = []
    for word in words:
        spots = [m.start() for m, _ in zip(re.finditer(re.escape(word), lowered), range(20), strict=False)]
        in_name = [_NOT_ALNUM.sub("", lowered[max(0, at - 30) : at]).endswith(names) for at in spots]
        if not spots or not all(in_name):
            kept.append(word)
    return kept


def _within(word: str, phrase: str) -> bool:
    """`word` is a word of `phrase`, or begins its only word ("it-kumppani" in "it-kumppaninne").
    Hyphens part words, as in the text's tokens: "it partner" is in "er it-partner"."""
    if " " not in phrase:
        return phrase.startswith(word)
    return f" {word.replace('-', ' ')} " in f" {phrase.replace('-', ' ')} "


def _is_person(addr: Address, catalog: Catalog) -> bool:
    """A named human rather than a system, team or brand mailbox."""
    head = addr.name.strip().strip("\"'").split("(")[0].strip()
    if not head or "@" in head:
        # No display name: "first.last@" still reads as a person, "billing@" does not.
        local = addr.local
        return bool(re.fullmatch(r"[a-z]+[._-][a-z]+\d*", local)) and not _ROLE_LOCAL.search(local)
    head = re.split(r"\s[|–—/-]\s", head)[0].strip()  # "Camila Duarte | Radiovisio" -> the person
    if _ROLE_NAME.search(head) or catalog.named_in(head):
        return False  # "Meraki Alerts", "Microsoft Azure", "Zoom" are systems and brands
    return bool(_PERSON_NAME.match(addr.name.strip().strip("\"'")))


def _meeting_links(message: Message) -> list[str]:
    """Booking links: in the markup, or written out without https:// ("cal.com/josh/15")."""
    found = [link.url[:120] for link in message.links if _MEETING_LINK.search(link.url)][:3]
    if found:
        return found
    text = message.new_text[:20_000]
    low = text.lower()  # only a gate: the expression runs on text that has a booking word
    if any(key in low for key in _BOOKING_KEYS):
        written = _MEETING_LINK.search(text)
        if written:
            found.append(written.group().rstrip(".,;)")[:120])
    return found


def _is_sender(who: str, sender: Address, reg: str) -> bool:
    """Is `who` (a quoted sender: an address, or a name alone) the sender of this message?"""
    if "@" in who:
        domain = who.rpartition("@")[2]
        return bool(reg) and org_domain(domain) == reg
    return bool(sender.name) and who == " ".join(sender.name.lower().split())


def _recipient_names(message: Message) -> list[str]:
    names: list[str] = []
    for addr in message.to[:5]:
        if addr.name:
            parts = [p for p in re.split(r"[\s,]+", addr.name) if len(p) > 1]
            names.extend(p.lower().strip(".") for p in parts[:3])
        local = addr.local
        if local:
            names.extend(p for p in re.split(r"[._-]+", local) if len(p) > 2 and not p.isdigit())
    return names


def compute(
    message: Message,
    catalog: Catalog,
    *,
    msp_domains: frozenset[str],
    tenant_domains: frozenset[str],
    allow_senders: frozenset[str],
) -> Signals:
    sender = message.sender_address or Address("", "")
    domain = sender.domain
    reg = org_domain(domain)
    owner = catalog.owner(domain) if domain else None
    msp = bool(reg) and (reg in msp_domains or domain in msp_domains)
    tenants = tenant_domains or frozenset(org_domain(a.domain) for a in message.to[:3] if a.domain)
    auth = parse_auth(message)
    # The customer's own domain failing authentication is someone spoofing it, not a colleague.
    internal = bool(reg) and (reg in tenants or domain in tenants) and not auth.failed
    allowlisted = ""
    if sender.address and sender.address in allow_senders:
        allowlisted = sender.address
    elif reg and (reg in allow_senders or domain in allow_senders):
        allowlisted = domain

    head = message.header
    names = message.headers  # in message order: the evidence reads the same every run
    bulk = sorted(
        (n for n in names if n in BULK_HEADERS or n.startswith(BULK_PREFIXES)),
        key=lambda n: (not n.startswith("list-"), n),
    )
    precedence = head("precedence").lower()
    if precedence in ("bulk", "list", "junk"):
        bulk.append(f"precedence: {precedence}")
    engagement = [n for n in names if n.startswith(ENGAGEMENT_HEADERS)]
    mailer = head("x-mailer")
    if mailer and ENGAGEMENT_MAILERS.search(mailer):
        engagement.append(f"x-mailer: {mailer[:40]}")
    if not engagement:
        tracked = next(
            (
                link.domain
                for link in message.links[:50]
                if ENGAGEMENT_LINK_HOSTS.search(link.domain) or _engagement_path(link.url)
            ),
            "",
        )
        if tracked and not (bulk and tracked.endswith("hubspotlinks.com")):
            engagement.append(f"tracked links: {tracked[:60]}")
        elif message.pixels and not bulk:
            engagement.append(f"open-tracking image: {message.pixels[0][:60]}")
    service = [n for n in names if n.startswith(SERVICE_HEADERS)]
    if head("auto-submitted").lower().startswith("auto-"):
        service.append("auto-submitted")
    if head("x-sfdc-emailcategory").lower() in ("emailtocase", "casemail", "caseemail"):
        service.append("x-sfdc-emailcategory: " + head("x-sfdc-emailcategory"))

    starter = message.quoted_senders[-1].lower() if message.quoted_senders else ""
    own_thread = bool(starter) and _is_sender(starter, sender, reg)
    subject = message.subject
    # A seller's follow-up carries its first mail, quoted below: that is the pitch it follows up.
    earlier = message.quoted[:MAX_EARLIER_CHARS] if own_thread else ""
    main_text = "\n".join(part for part in (subject, message.new_text, message.signature, earlier) if part)
    tokens = tokenize(main_text)
    index = phrase_index()
    phrases = index.scan(tokens, main_text)
    # "from 490 Kč a month", "€12 per user": a price is an offer in any language.
    words = set(tokens)
    price = _price(main_text, not words.isdisjoint(_CURRENCY_CODES))
    if price:
        phrases["offer"].append(price.lower()[:40])
    # "AI" is artificial intelligence only in capitals ("生成AI活用" too): "ai" is Italian for "to the".
    if "ai" in words and _AI.search(main_text, 0, MAX_AI_CHARS):
        phrases["tech"].append("AI")
    # "within 12 hours" in any language: a deadline counted in hours is pressure.
    hours = None if words.isdisjoint(_HOUR_TOKENS) else _HOUR_WORD
    deadline = _near(_HOURS_DEADLINE, main_text, _HOUR_SIGNS, hours, before=48, after=24)
    if deadline and not any(next(filter(None, deadline.groups())) in hit for hit in phrases["lure"]):
        phrases["lure"].append(deadline.group().lower())
    # "your IT provider" is the customer's provider, not the sender describing itself; but in
    # the sender's own signature ("Polderweb IT B.V. | Your IT partner") it is a tagline.
    signed = message.signature.lower()
    bypass = [b for b in phrases["bypass"] if b not in signed]
    phrases["it_provider"] = [p for p in phrases["it_provider"] if not any(_within(p, b) for b in bypass)]
    if phrases["it_provider"] and msp_domains:
        # "Highveld Managed IT" is the customer's MSP by name, not the sender describing itself.
        phrases["it_provider"] = _outside_msp_name(phrases["it_provider"], main_text.lower(), msp_domains)

    role_match = _ROLE_LOCAL.search(sender.local) if sender.local else None
    person = _is_person(sender, catalog) and not (role_match and not sender.name)
    role = ""
    if role_match:
        role = f"mailbox '{sender.local}'"
    elif sender.name and not person:
        role = f"name '{sender.name[:60]}'"

    display_vendor = None
    if sender.name:
        # Folded, so "Mіcrosoft" with a Cyrillic і still names Microsoft.
        claimed = catalog.named_in(fold(sender.name))
        if claimed and (not owner or owner.vendor is not claimed):
            display_vendor = claimed

    first_lines = tokenize(message.new_text[:160])[:18]
    personal = ""
    rnames = _recipient_names(message)
    for name in rnames:
        if name in first_lines:
            personal = name
            break

    return Signals(
        message=message,
        sender=sender,
        domain=domain,
        reg=reg,
        owner=owner,
        lookalike=None if owner or internal or msp else catalog.lookalike(domain),
        display_vendor=display_vendor,
        auth=auth,
        internal=internal,
        msp=msp,
        freemail=reg in FREEMAIL,
        social=reg in SOCIAL,
        allowlisted=allowlisted,
        person=person,
        role=role,
        bulk_headers=bulk,
        marketing_label=label if (label := subdomain(domain).split(".")[0]) in MARKETING_LABELS else "",
        engagement=engagement,
        service_headers=service,
        recipients=len(message.to) + len(message.cc),
        personal_greeting=personal,
        reply=bool(_REPLY_PREFIX.match(subject)) or bool(head("in-reply-to")),
        forward=bool(_FORWARD_PREFIX.match(subject)),
        thread_starter=starter,
        own_thread=own_thread,
        references=_references(f"{subject}\n{message.new_text[:1500]}"),
        meeting_links=_meeting_links(message),
        phrases=phrases,
        tenant_domains=tenants,
    )
