"""A body split into its newest part, signature and quoted history, in many languages.

HTML bodies are split on the markers mail clients leave in the tree (Outlook, Gmail, Apple
Mail, Thunderbird); then, as for plain text, on attribution lines ("On ... wrote:"), header
blocks ("From: / Sent:") and sign-offs. Only lines that can match reach a regular expression.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from detectors.markup import (
    _BLOCK,
    _BREAK,
    _OUTLOOK_BORDER,
    _QUOTE,
    _QUOTE_HINTS,
    _QUOTE_MARKERS,
    _SIGN,
    _SIGNATURE_MARKERS,
    MAX_HTML_CHARS,
    MAX_LINKS,
    MAX_TEXT_CHARS,
    _add_bare_links,
    _document_text,
    _render,
    image_alts,
    make_link,
    pixel_hosts,
)
from detectors.text import clean

MAX_QUOTED_SENDERS = 50
MAX_QUOTED_NAME = 100
SIGNATURE_WINDOW = 12  # a sign-off further than this many non-empty lines from the end is content

# --- quoted history ----------------------------------------------------------------------
# Matching runs on lower-cased lines; only lines that start or end with the right character
# reach a regular expression.

# Outlook's "From:" and the headers after it, as Outlook writes them in each language.
_FROM_WORDS = (
    "from", "von", "de", "van", "da", "fra", "från", "od", "de la", "lähettäjä", "feladó", "kimden",
    "από", "от", "від", "šalje", "pošiljatelj", "saatja", "no", "nuo", "frá", "dari", "từ", "จาก",
    "من", "מאת", "差出人", "发件人", "寄件者", "보낸 사람",
)  # fmt: skip
_FROM_HEADER = re.compile(r"\*?(?:" + "|".join(_FROM_WORDS) + r")\*? ?:")
_OTHER_HEADER = re.compile(
    r"\*?(?:sent|date|to|cc|subject|reply-to|gesendet|datum|an|betreff|envoyé|à|objet|enviado el"
    r"|enviado|enviada em|enviada|fecha|para|asunto|verzonden|aan|onderwerp|inviato|data|a|oggetto"
    r"|assunto|sendt|til|emne|skickat|till|ämne|wysłano|do|temat|enviat|per a|assumpte|kopi|kopia|dw"
    r"|lähetetty|vastaanottaja|aihe|elküldve|címzett|tárgy|gönderildi|kime|konu|αποστολή|προς|θέμα"
    r"|отправлено|кому|тема|надіслано|trimis|către|subiect|poslano|prima|predmet|odesláno|komu|předmět"
    r"|odoslané|zadeva|za|изпратено|до|saadetud|adressaat|teema|nosūtīts|kam|tēma|išsiųsta|sendur"
    r"|efni|dikirim|kepada|perihal|đã gửi|đến|chủ đề|ส่ง|ถึง|เรื่อง|تم الإرسال|إلى|الموضوع|נשלח|אל|נושא"
    r"|送信日時|宛先|件名|发送时间|收件人|主题|寄件日期|收件者|主旨|보낸 날짜|받는 사람|제목)\*? ?:"
)
_OTHER_HEADER_INLINE = re.compile(rf"\s{_OTHER_HEADER.pattern}")
_SEPARATOR = re.compile(
    r"-{2,} ?(?:original message|ursprüngliche nachricht|message d['’]origine|mensaje original"
    r"|oorspronkelijk bericht|messaggio originale|mensagem original|forwarded message"
    r"|weitergeleitete nachricht|message transféré|mensaje reenviado|doorgestuurd bericht"
    r"|messaggio inoltrato|mensagem encaminhada|mensagem reencaminhada|oprindelig meddelelse"
    r"|ursprungligt meddelande|opprinnelig melding|oryginalna wiadomość|missatge original"
    r"|videresendt meddelelse|vidarebefordrat meddelande|videresendt melding|przekazana wiadomość) ?-{2,}"
)
# "-----Исходное сообщение-----", "----- Alkuperäinen viesti -----": any language's title between
# dashes, when a "From:" header follows.
_DASHED_TITLE = re.compile(r"-{3,} ?[^\W\d_][^-\n]{2,40}? ?-{3,}")
_FORWARD_INTRO = re.compile(
    r"(?:begin forwarded message|anfang der weitergeleiteten nachricht|début du message réexpédié"
    r"|inicio del mensaje reenviado|begin doorgestuurd bericht|inizio messaggio inoltrato"
    r"|início da mensagem reencaminhada) ?:"
)
_RULE = re.compile(r"_{10,}")
# Verbs that end an attribution line ("... wrote:"), lower-case, in the mail clients' languages.
_WROTE_VERBS = (
    "wrote", "escribió", "escribio", "escreveu", " a écrit", " ha scritto", "napisał(a)", "napisał",
    "napisała", "va escriure", "написал(а)", "написал", "написала", "написав(ла)", "написав", "пише", "napsal(a)", "napsal", "napsala", "napísal(a)", "napísal", "napísala",
    "napisao", "napisala", "je napisal", "je napisala", "написао", "írta", "yazdı", " a scris",
    "έγραψε", "đã viết", "rašė", "rakstīja", "kirjutas", "kirjoitti", "menulis", "написа", "напиша",
    "geskryf", "aliandika", "shkroi", "ysgrifennodd", "idatzi zuen", "写道", "작성", "ने लिखा", "نوشت",
    "เขียนว่า",
)  # fmt: skip
_WROTE_ENDINGS = tuple(f"{verb}{space}:" for verb in _WROTE_VERBS for space in ("", " "))
_WROTE = re.compile(
    r"(?<!\w)(?:"
    + "|".join(re.escape(verb.strip()).replace(r"\(", r"\(?").replace(r"\)", r"\)?") for verb in _WROTE_VERBS)
    + ") ?:$"
    r"|\b(?:schrieb|schreef|skrev)\b.{0,200}:$"
)
# A date as mail clients write it first: 23.06.2026, 2026-06-23, "2026. jún." (not "1. Item").
_DATE = r"\d{1,2}[./-] ?\d{1,2}[./-] ?\d{2,4}|\d{4}[./-]\d{1,2}[./-]\d{1,2}|\d{4}\. "
# "On <date> ... wrote:", or the date first ("23.06.2026 09:42, Name написав:").
_ATTRIBUTION = re.compile(
    r"(?:(?:on|am|le|el|op|il|em|den|w dniu|dne|dňa|pe|vào|pada|στις)\s|(?="
    + _DATE
    + r"))(?=.*\d).{3,400}?(?:"
    + _WROTE.pattern
    + ")"
)
_HAS_DIGIT = re.compile(r"\d")
_EMAIL = re.compile(r"[\w.+%'=-]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9-]+)+")
_FROM_STARTS = frozenset("*" + "".join(word[0] for word in _FROM_WORDS))
_FROM_COLON = max(map(len, _FROM_WORDS)) + 4  # where the colon of "*From* :" can be at the latest
# A quoted "From:" line with a name and no address: "von: felix aigner".
_FROM_NAME_STARTS = tuple(
    f"{star}{word}{space}:" for star in ("", "*") for word in _FROM_WORDS for space in ("", " ")
)
_QUOTE_FIRSTS = frozenset("-_") | _FROM_STARTS | {first.upper() for first in _FROM_STARTS}


def _says_wrote(line: str) -> bool:
    """Does this lower-cased line end like an attribution ("... wrote:", "... schrieb X:")?"""
    return line.endswith(_WROTE_ENDINGS) or (
        ("schrieb" in line or "schreef" in line or "skrev" in line) and _WROTE.search(line) is not None
    )


def _addressed(line: str) -> bool:
    """Gmail in Japanese, Hebrew, Arabic, Icelandic or Irish ends an attribution with the address
    and no verb after it ("2026年3月4日(水) 10:22 Tanaka Taro <tanaka@acme.jp>:"): a date and an
    address. Prose can end so too, so outside quoted text it takes a quoted line below."""
    return line.endswith(">:") and "@" in line[-400:] and _HAS_DIGIT.search(line) is not None


def _lower(text: str) -> str:
    low = text.lower()
    if len(low) != len(text):  # "İ" lower-cases to two characters; keep lines aligned
        low = text.replace("\u0130", "I").lower()
    return low


def _is_header_block(lines: list[str], i: int) -> bool:
    """A "From:" line followed closely by at least two other header lines (Sent/To/Subject...)."""
    if len(_OTHER_HEADER_INLINE.findall(lines[i].lower())) >= 2:
        return True
    return sum(1 for line in lines[i + 1 : i + 8] if _OTHER_HEADER.match(line.lower())) >= 2


def _attribution_start(lines: list[str], i: int) -> int:
    """First line of the "On <date>, <name> wrote:" attribution ending on line i, or -1.
    Clients wrap it, so up to two lines before are joined in."""
    for start in range(i, max(i - 3, -1), -1):
        if _ATTRIBUTION.match(" ".join(lines[start : i + 1]).lower()):
            return start
    if "@" in lines[i]:  # "Jane Doe <jane@example.com> wrote:"
        return i
    if i and "@" in lines[i - 1] and len(lines[i - 1]) < 120:
        return i - 1
    return -1


def _from_header(line: str) -> re.Match[str] | None:
    """The "From:" of a lower-cased header line in any of Outlook's languages, or None."""
    return _FROM_HEADER.match(line) if line[0] in _FROM_STARTS and ":" in line[:_FROM_COLON] else None


def _is_from_block(lines: list[str], i: int) -> bool:
    """Line i is a "From:" header with other headers (Sent, To, Subject…) close below it."""
    return _from_header(lines[i].lower()) is not None and _is_header_block(lines, i)


def _is_dashed_title(lines: list[str], i: int) -> bool:
    """A title between dashes with a header block ("From:", "Sent:", "To:"…) right below it."""
    if not _DASHED_TITLE.fullmatch(lines[i]):
        return False
    below = next((j for j in range(i + 1, min(i + 3, len(lines))) if lines[j]), -1)
    return below >= 0 and _is_from_block(lines, below)


def _quote_start(lines: list[str]) -> int:
    """Index of the line where quoted or forwarded history begins, or -1."""
    # Only lines starting or ending with the right character can start history; picking
    # those first is several times cheaper than testing every line.
    candidates = [i for i, line in enumerate(lines) if line and (line[0] in _QUOTE_FIRSTS or line[-1] == ":")]
    for i in candidates:
        line = lines[i].lower()
        first = line[0]
        if first == "-" and (_SEPARATOR.match(line) or _is_dashed_title(lines, i)):
            return i
        if first == "_" and _RULE.fullmatch(line):
            following = [next_line for next_line in lines[i + 1 : i + 3] if next_line]
            if following and _FROM_HEADER.match(following[0].lower()):
                return i
        if _is_from_block(lines, i):
            return i
        if line[-1] == ":":
            if _FORWARD_INTRO.match(line):
                return i
            quoted_below = next((below for below in lines[i + 1 : i + 3] if below), "").startswith(">")
            if _says_wrote(line) or (_addressed(line) and quoted_below):
                start = _attribution_start(lines, i)
                if start >= 0:
                    return start
    return -1


def split_quote(text: str) -> tuple[str, str]:
    """(newest part, quoted history) of cleaned text. The history starts at an attribution
    line ("On ... wrote:", "Am ... schrieb ...:", "Le ... a écrit :" ...), an "Original
    Message" or "Forwarded message" separator, or an Outlook header block ("From: / Sent: /
    To: / Subject:" and its translations). Lines starting with ">" are quoted too."""
    lines = text.split("\n")
    start = _quote_start(lines)
    new, quoted = (lines[:start], lines[start:]) if start >= 0 else (lines, [])
    if text.startswith(">") or "\n>" in text:
        kept = [line for line in new if not line.startswith(">")]
        if len(kept) != len(new):
            quoted = [line for line in new if line.startswith(">")] + quoted
            new = kept
    return "\n".join(new).strip(), "\n".join(quoted).strip()


def quoted_senders(quoted: str) -> list[str]:
    """Addresses named as senders in quoted history ("From: ... <a@b>", "On ..., X <a@b>
    wrote:"), in order of appearance: the oldest message's sender comes last. Outlook quotes a
    colleague or a known contact by name alone ("From: Felix Aigner"): then the lower-case
    name stands for the sender."""
    senders: list[str] = []
    lines = _lower(quoted).split("\n")
    for i, raw_line in enumerate(lines):
        line = raw_line.lstrip("> ") if raw_line.startswith(">") else raw_line
        if not line or "@" not in line and line[-1] != ":" and not line.startswith(_FROM_NAME_STARTS):
            continue
        sender = ""
        header = _from_header(line)
        if header:
            found = _EMAIL.search(line, 0, 500)
            sender = (
                found.group()
                if found
                else " ".join(line[header.end() :].strip(" *").split())[:MAX_QUOTED_NAME]
            )
        elif line[-1] == ":" and (_says_wrote(line) or _addressed(line)):
            # An attribution ends with the address: a search over a hostile line's end only.
            found = _EMAIL.search(line, max(0, len(line) - 400))
            if not found and i:  # the address wrapped onto the line before
                found = _EMAIL.search(lines[i - 1], 0, 400)
            sender = found.group() if found else _attribution_name(line)
        if sender:
            senders.append(sender.strip("."))
            if len(senders) >= MAX_QUOTED_SENDERS:
                break
    return senders


_TIME_WORDS = frozenset({"am", "pm", "a.m", "p.m", "uhr", "hod"})


def _attribution_name(line: str) -> str:
    """The name in an attribution line without an address: after the date and before the verb
    ("23.06.2026 09:42, богдан литвиненко написав:"), or after the verb ("... schrieb jane doe:")."""
    if len(line) > 400 or not _ATTRIBUTION.match(line):
        return ""
    verb = _WROTE.search(line)  # it ends the line
    if not verb:
        return ""
    if verb.group().startswith(("schrieb", "schreef", "skrev")):
        name = verb.group().partition(" ")[2]
    else:
        name = line[: verb.start()].rpartition(",")[2]
        # No comma between the time and the name ("dne 22.09.2026 v 9:44 radek kučera napsal(a):"):
        # the name is what follows the last word with a digit in it.
        words = name.split()
        last_number = max((i for i, word in enumerate(words) if any(c.isdigit() for c in word)), default=-1)
        words = words[last_number + 1 :]
        if words and last_number >= 0 and words[0].strip(".,") in _TIME_WORDS:
            words = words[1:]  # "9:44 pm jane doe", "9:44 uhr jane doe"
        name = " ".join(words)
    name = " ".join(name.strip(" :*").split())
    if not name or any(c.isdigit() for c in name) or len(name) > MAX_QUOTED_NAME:
        return ""
    return name


# --- signature ---------------------------------------------------------------------------

_SIGN_OFFS = (
    # en
    "best|best regards|regards|kind regards|kindest regards|warm regards|warmest regards|"
    "best wishes|with best regards|with kind regards|all the best|many thanks|thanks|thank you|"
    "thanks again|thanks so much|thank you so much|thanks in advance|thank you in advance|"
    "thanks for your time|thank you for your time|cheers|sincerely|yours sincerely|"
    "sincerely yours|yours truly|respectfully|talk soon|take care|"
    # de
    "viele grüße|mit freundlichen grüßen|mit freundlichem gruß|beste grüße|freundliche grüße|"
    "liebe grüße|herzliche grüße|schöne grüße|viele grüsse|mit freundlichen grüssen|beste grüsse|"
    "freundliche grüsse|grüße|gruß|mfg|lg|vg|danke|vielen dank|"
    # fr
    "cordialement|bien à vous|bien cordialement|très cordialement|salutations|"
    "meilleures salutations|sincères salutations|bien amicalement|amicalement|au plaisir|"
    "à bientôt|merci|merci beaucoup|bonne journée|"
    # es
    "saludos|atentamente|un saludo|saludos cordiales|un abrazo|gracias|muchas gracias|"
    # nl
    "met vriendelijke groet|met vriendelijke groeten|vriendelijke groet|groeten|groet|"
    "hartelijke groet|met hartelijke groet|bedankt|"
    # it
    "cordiali saluti|distinti saluti|saluti|un saluto|grazie|grazie mille|"
    # pt
    "atenciosamente|cumprimentos|melhores cumprimentos|com os melhores cumprimentos|abraço|"
    "abraços|um abraço|obrigado|obrigada|"
    # Nordic
    "med vänlig hälsning|med vänliga hälsningar|vänliga hälsningar|vänlig hälsning|hälsningar|mvh|"
    "med venlig hilsen|venlig hilsen|bedste hilsner|de bedste hilsner|med vennlig hilsen|vennlig hilsen|"
    "beste hilsen|hilsen|ystävällisin terveisin|parhain terveisin|terveisin|kiittäen|kveðja|bestu kveðjur|"
    "með kveðju|"
    # central and eastern Europe, Baltic
    "pozdrawiam|pozdrawiam serdecznie|serdecznie pozdrawiam|z poważaniem|z wyrazami szacunku|"
    "s pozdravem|s přátelským pozdravem|se srdečným pozdravem|s pozdravom|s priateľským pozdravom|s úctou|"
    "üdvözlettel|baráti üdvözlettel|tisztelettel|köszönettel|cu stimă|cu respect|toate cele bune|"
    "lijep pozdrav|srdačan pozdrav|srdačni pozdravi|s poštovanjem|sa poštovanjem|lep pozdrav|"
    "lepo pozdravljeni|s spoštovanjem|срдачан поздрав|с поштовањем|поздрави|с уважение|с поздрав|"
    "с уважением|с наилучшими пожеланиями|всего доброго|з повагою|з найкращими побажаннями|"
    "pagarbiai|su pagarba|ar cieņu|ar labiem vēlējumiem|lugupidamisega|parimate soovidega|tervitades|"
    "heade soovidega|με εκτίμηση|με φιλικούς χαιρετισμούς|φιλικά|saygılarımla|iyi çalışmalar|saygılar|"
    # Catalan, Basque, Irish, Welsh, Afrikaans
    "salutacions|cordialment|atentament|una abraçada|ondo izan|agur bero bat|le dea-mhéin|le meas|"
    "cofion|cofion gorau|yn gywir|vriendelike groete|beste groete|groete|"
    # Asia, Africa, Middle East
    "hormat saya|hormat kami|salam hangat|terima kasih|trân trọng|thân mến|lubos na gumagalang|"
    "kwa heshima|asante sana|مع التحية|مع خالص التحية|مع خالص التحيات|مع التحيات|تحياتي|"
    "مع الشكر والتقدير|مع أطيب التحيات|مع فائق الاحترام|בברכה|בכבוד רב|با احترام|با سپاس|सादर|"
    "शुभकामनाओं सहित|भवदीय|धन्यवाद|よろしくお願いいたします|よろしくお願いします|"
    "何卒よろしくお願い申し上げます|敬具|此致敬礼|此致|祝好|顺祝商祺|敬上|감사합니다|감사드립니다|"
    "ขอแสดงความนับถือ|ด้วยความเคารพ"
)
_NAME = r"[A-ZÀ-ÖØ-Þ][\w.'’-]*(?: [A-ZÀ-ÖØ-Þ][\w.'’-]*){0,2}"
# The sign-off, optionally with the writer's name on the same line ("Thanks, Rohan").
_SIGN_OFF_MARKS = ",.!…،。、"  # what may follow a sign-off: "Best,", "С уважением,", "敬具。"
_SIGN_OFF = re.compile(rf"(?i:{_SIGN_OFFS})(?: ?[{_SIGN_OFF_MARKS}]+)?(?: ?[,–—-]? ?{_NAME})? ?[,.!،。]*")
_DEVICE = re.compile(
    r"(?:sent from (?:my|outlook|mail|yahoo|samsung)\b|sent via \S|sent with \S|get outlook for "
    r"|von meinem \S.{0,40} gesendet|gesendet von (?:meinem|outlook|mail)|envoyé de mon |envoyé depuis "
    r"|obtenir outlook pour|enviado desde |obtener outlook para |verzonden (?:vanaf|met) "
    r"|inviato da |enviado do meu |enviado a partir do |enviado de meu |obtenha o outlook"
    r"|skickat från min |sendt fra min |lähetetty (?:iphonesta|androidista|puhelimesta)|wysłane z mojego "
    r"|odesláno z mého |odoslané z môjho |отправлено с моего |надіслано з мого |изпратено от моя "
    r"|poslano s mog |poslano z mojega |išsiųsta iš mano |nosūtīts no mana |saadetud minu |στάλθηκε από "
    r"|iphone'umdan gönderildi|iphoneから送信|androidから送信|发自我的|從我的 |나의 iphone에서"
    r"|(?:trimis de pe|küldve az|dikirim dari|dihantar dari|gửi từ|ส่งจาก|أرسلت من|مرسل من) ?(?:iphone|ipad|android"
    r"|samsung|galaxy|ponsel|perangkat|điện thoại|الآيفون|هاتف))",
    re.I,
)
_DEVICE_STARTS = frozenset(
    ("sent", "get ", "von ", "gese", "envo", "obte", "envi", "verz", "invi", "skic", "lähe", "wysł",
     "odes", "odos", "отпр", "наді", "изпр", "trim", "posl", "küld", "ipho", "andr", "στάλ", "išsi",
     "nosū", "saad", "diki", "diha", "gửi ", "发自我的", "從我的 ", "나의 i", "ส่งจ", "أرسل", "مرسل")
)  # fmt: skip
_SIGN_OFF_STARTS = frozenset(phrase.split()[0] for phrase in _SIGN_OFFS.split("|"))
_NAME_NOISE = re.compile(r"\(.*?\)|\[.*?\]|<.*?>|\".*?\"|\|.*")
_DELIMITERS = frozenset(("--", "-- ", "—"))


@lru_cache(maxsize=4096)
def _name_keys(sender_name: str) -> tuple[str, frozenset[str]]:
    """(full name, accepted lines) for recognising a signature that starts with the sender's
    name: "Rohan Kapoor (Contoso)" gives "rohan kapoor", and a line of just "rohan"."""
    name = " ".join(_NAME_NOISE.sub(" ", sender_name).split()).lower()
    if "@" in name:
        return "", frozenset()
    if name.count(",") == 1:  # "Kapoor, Rohan"
        last, first = (part.strip() for part in name.split(","))
        name = f"{first} {last}".strip()
    words = name.split()
    if not words or len(name) < 3:
        return "", frozenset()
    if len(words) >= 2 and len(words[0]) >= 2:
        return name, frozenset((name, words[0]))
    return name, frozenset((name,))


def _is_name_line(line: str, full: str, keys: frozenset[str]) -> bool:
    written = line.lstrip("-–—~ ").rstrip(" ,.!")
    bare = written.lower()
    if bare in keys:
        return True
    after = bare[len(full) : len(full) + 1]
    if not bare.startswith(full) or after not in (" ", ",", "|", "-"):
        return False
    # "Rohan Kapoor | Account Executive", "Jamie Chen Sales Director"; but a sentence that
    # starts with the name goes on in lower case ("Tóth Gergely vagyok, az Iratfelhő...").
    return after != " " or not written[len(full) :].lstrip()[:1].islower()


def split_signature(text: str, sender_name: str = "") -> tuple[str, str]:
    """(body, signature) of the newest part. The signature is the block after a "-- " line
    or after a sign-off ("Best regards,", "Mit freundlichen Grüßen", "Cordialement"...) in
    the last SIGNATURE_WINDOW lines, from a line naming the sender, or from a "Sent from my
    iPhone" line. The sign-off itself stays in the body."""
    lines = text.split("\n")
    first = next((i for i, line in enumerate(lines) if line), len(lines))
    window: list[int] = []  # non-empty lines from the end, the greeting line excluded
    for i in range(len(lines) - 1, first, -1):
        if lines[i]:
            window.append(i)
            if len(window) == SIGNATURE_WINDOW:
                break
    if not window:
        return text, ""
    full, keys = _name_keys(sender_name[:200]) if sender_name else ("", frozenset())
    cut = len(lines)
    skip = -1
    following = ""  # the next non-empty line below the one being looked at
    prose_below = False  # a sentence between this line and the cut found so far
    for i in window:
        line = lines[i]
        if len(line) > 120:  # a paragraph: neither sign-off, name nor device line
            following = line
            prose_below = True
            continue
        if line in _DELIMITERS:
            cut, skip = i, i
        elif (line[:4].lower() in _DEVICE_STARTS and _DEVICE.match(line)) or (
            keys and _is_name_line(line, full, keys)
        ):
            cut = i
        elif (
            len(line) <= 60
            and 0 < len(following) <= 60  # a name or title follows, not more of the message
            and not following.endswith("?")
            and not (prose_below and cut < len(lines))  # a sign-off above a translation stays in the body
            and line.split(None, 1)[0].rstrip(_SIGN_OFF_MARKS).lower() in _SIGN_OFF_STARTS
            and _SIGN_OFF.fullmatch(line)
        ):
            cut = min(cut, i + 1)
        elif len(line.split()) >= 6 and line.endswith((".", "?", "!")):
            prose_below = True
        following = line
    if cut >= len(lines):
        return text, ""
    body = "\n".join(lines[:cut]).strip()
    kept = lines[cut:skip] + lines[skip + 1 :] if skip >= cut else lines[cut:]
    return body, "\n".join(kept).strip()


# --- whole bodies ------------------------------------------------------------------------


@dataclass(slots=True)
class BodyParts:
    """A body split for the detectors (all cleaned and bounded)."""

    text: str = ""  # everything
    new: str = ""  # newest part without signature and quoted history
    signature: str = ""
    quoted: str = ""
    quoted_senders: list[str] = field(default_factory=list)
    links: list[tuple[str, str, str]] = field(default_factory=list)  # (url, text, host)
    pixels: list[str] = field(default_factory=list)  # hosts of open-tracking images
    image_alts: list[str] = field(default_factory=list)  # images' alternative texts (logos)
    truncated: bool = False


def _strip_delimiter(signature: str) -> str:
    first, _, rest = signature.partition("\n")
    return rest.strip() if first.strip() in _DELIMITERS else signature


def _finish(parts: BodyParts, head: str, sender_name: str, signature: str = "") -> None:
    """Split `head` (cleaned text before any quote marker) and fill in the parts."""
    new, quoted = split_quote(head)
    if quoted:  # the HTML signature marker sat inside text that is itself quoted history
        parts.quoted = "\n".join(x for x in (quoted, signature, parts.quoted) if x)
        signature = ""
    if signature:
        parts.new, parts.signature = new, _strip_delimiter(signature)
    else:
        parts.new, parts.signature = split_signature(new, sender_name)
    if parts.quoted:
        parts.quoted_senders = quoted_senders(parts.quoted)


def parse_text(text: str, sender_name: str = "") -> BodyParts:
    """Split a plain-text body; `sender_name` helps find a signature that starts with it."""
    parts = BodyParts()
    if not text:
        return parts
    if len(text) > MAX_HTML_CHARS:
        text, parts.truncated = text[:MAX_HTML_CHARS], True
    text = clean(text)
    if len(text) > MAX_TEXT_CHARS:
        text, parts.truncated = text[:MAX_TEXT_CHARS], True
    parts.text = text
    _finish(parts, text, sender_name)
    _add_bare_links(parts.links, text)
    return parts


def parse_html(html: str, sender_name: str = "") -> BodyParts:
    """Split an HTML body: quote and signature markers of Outlook, Gmail, Apple Mail and
    Thunderbird are found in the tree, then the text rules of parse_text() apply."""
    parts = BodyParts()
    if not html:
        return parts
    doc = _render(html)
    parts.truncated = doc.truncated
    root = doc.tree.body if doc.tree.body is not None else doc.tree.root
    lowered = doc.html
    if "href" in lowered:
        for a in root.css("a[href]"):
            link = make_link(a.attrs.get("href") or "", a.text())
            if link:
                parts.links.append(link)
                if len(parts.links) >= MAX_LINKS:
                    break
    parts.pixels = pixel_hosts(doc)
    parts.image_alts = image_alts(doc)
    if "blockquote" in doc.tags or any(hint in lowered for hint in _QUOTE_HINTS):
        for node in root.css(_QUOTE_MARKERS):
            node.insert_before(_QUOTE)
    if "border-top" in lowered and ("e1e1e1" in lowered or "b5c4df" in lowered):
        for node in root.css(_OUTLOOK_BORDER):
            header = node.text()[:1000].replace(_BREAK, "\n").replace(_BLOCK, "\n").lower()
            if any(_FROM_HEADER.match(line.strip()) for line in header.split("\n")):
                node.insert_before(_QUOTE)
    if "signature" in lowered:
        for node in root.css(_SIGNATURE_MARKERS):
            node.insert_before(_SIGN)
    text = _document_text(doc)
    if len(text) > MAX_TEXT_CHARS:
        text, parts.truncated = text[:MAX_TEXT_CHARS], True
    head, _, quoted = text.partition(_QUOTE)
    head, _, signature = head.partition(_SIGN)
    head = clean(head)
    if signature:
        signature = clean(signature.replace(_SIGN, ""))
    if quoted:
        parts.quoted = clean(quoted.replace(_QUOTE, "").replace(_SIGN, ""))
    parts.text = "\n".join(x for x in (head, signature, parts.quoted) if x)
    _finish(parts, head, sender_name, signature)
    _add_bare_links(parts.links, parts.text)
    return parts


_LOOKS_HTML = re.compile(r"<(?:html|body|div|p|br|table|span|a|b|font|meta|head)\b", re.I)


def parse_body(content: str, content_type: str = "", sender_name: str = "") -> BodyParts:
    """parse_html() or parse_text() by content type ("html"/"text"); sniffed when unknown."""
    kind = (content_type or "").lower()
    if "html" in kind or (not kind and _LOOKS_HTML.search(content, 0, 2000)):
        return parse_html(content, sender_name)
    return parse_text(content, sender_name)
