"""detectors.body: the newest part, signature and quoted history of a body, in many languages."""

from __future__ import annotations

import pytest

from detectors.body import parse_html, parse_text, quoted_senders, split_quote, split_signature

# --- quoted history ----------------------------------------------------------------------

OUTLOOK_REPLY = """<html><head><style>p {margin:0}</style></head><body dir="ltr">
<div>Hi Jason,</div><div><br></div>
<div>Just bumping this to the top of your inbox. Is someone in finance the right contact?</div>
<div><br></div><div>Thanks,</div><div>Rohan</div>
<div id="appendonsend"></div>
<hr style="display:inline-block;width:98%">
<div id="divRplyFwdMsg" dir="ltr"><b>From:</b> Rohan Kapoor &lt;v-rokapoor@microsoft.com&gt;<br>
<b>Sent:</b> Tuesday, February 10, 2026 10:37 AM<br><b>To:</b> Jason Park &lt;jason@fabrikam.com&gt;<br>
<b>Subject:</b> Licence review</div>
<div>I run a free, 30-minute license optimization review.</div>
</body></html>"""


def test_outlook_html_reply_splits_newest_part_from_quote() -> None:
    parts = parse_html(OUTLOOK_REPLY, "Rohan Kapoor")
    assert parts.new.startswith("Hi Jason,")
    assert "finance the right contact?" in parts.new
    assert "optimization review" not in parts.new
    assert "free, 30-minute license optimization review" in parts.quoted
    assert parts.quoted_senders == ["v-rokapoor@microsoft.com"]


def test_gmail_html_reply_splits_newest_part_from_quote() -> None:
    html = (
        '<div dir="ltr"><div>Not interested, thanks.</div></div><br>'
        '<div class="gmail_quote"><div dir="ltr" class="gmail_attr">On Wed, Aug 19, 2026 at 4:12 PM '
        'Dana Lee &lt;<a href="mailto:dana.lee@cisco.com">dana.lee@cisco.com</a>&gt; wrote:<br></div>'
        '<blockquote class="gmail_quote"><div>Can I book 20 minutes to show you Webex Suite pricing?</div>'
        "</blockquote></div>"
    )
    parts = parse_html(html)
    assert parts.new == "Not interested, thanks."
    assert "Webex Suite pricing" in parts.quoted
    assert parts.quoted_senders == ["dana.lee@cisco.com"]


def test_apple_and_thunderbird_quotes() -> None:
    apple = (
        '<div>Sounds good.</div><div><br><blockquote type="cite"><div>On 3 Mar 2026, at 09:14, '
        "Ann &lt;ann@hp.com&gt; wrote:</div><div>Shall I send the HP Wolf Security quote?</div></blockquote></div>"
    )
    parts = parse_html(apple)
    assert parts.new == "Sounds good."
    assert "Wolf Security" in parts.quoted
    thunderbird = (
        '<p>Yes please.</p><div class="moz-cite-prefix">On 03/03/2026 09:14, Ann wrote:<br></div>'
        '<blockquote type="cite">Trial licences for Veeam?</blockquote>'
    )
    parts = parse_html(thunderbird)
    assert parts.new == "Yes please."
    assert parts.quoted.startswith("On 03/03/2026 09:14, Ann wrote:")


@pytest.mark.parametrize(
    ("attribution", "quoted_line"),
    [
        ("On Tue, Sep 22, 2026 at 9:14 AM Alyssa Greer <agreer@vendor.com> wrote:", "Free posture review?"),
        (
            "Am Di., 3. März 2026 um 10:02 Uhr schrieb Hans Müller <hans.mueller@vendor.de>:",
            "Kostenloser Workshop?",
        ),
        ("Le mar. 3 mars 2026 à 10:02, Jean Dupont <jean.dupont@vendor.fr> a écrit :", "Un audit gratuit ?"),
        (
            "El mar, 3 mar 2026 a las 10:02, Lucía Gómez (<lucia.gomez@vendor.es>) escribió:",
            "¿Una demo gratis?",
        ),
        ("Op di 3 mrt 2026 om 10:02 schreef Jan de Vries <jan.devries@vendor.nl>:", "Gratis migratie?"),
        (
            "Il giorno mar 3 mar 2026 alle ore 10:02 Marco Rossi <marco.rossi@vendor.it> ha scritto:",
            "Demo gratuita?",
        ),
        (
            "Em ter., 3 de mar. de 2026 às 10:02, João Silva <joao.silva@vendor.pt> escreveu:",
            "Avaliação grátis?",
        ),
    ],
)
def test_plain_text_attribution_lines_in_seven_languages(attribution: str, quoted_line: str) -> None:
    text = f"Please talk to our IT provider instead.\n\n{attribution}\n> {quoted_line}\n>\n> Regards"
    new, quoted = split_quote(text)
    assert new == "Please talk to our IT provider instead."
    assert quoted.startswith(attribution)
    assert quoted_line in quoted
    assert quoted_senders(quoted) == [attribution.split("<")[1].split(">")[0]]


def test_attribution_wrapped_over_two_lines() -> None:
    text = "Circling back.\n\nOn Tue, Sep 22, 2026 at 9:14 AM Alyssa Greer <\nagreer@vendor.com> wrote:\n> Hi Jason"
    new, quoted = split_quote(text)
    assert new == "Circling back."
    assert quoted_senders(quoted) == ["agreer@vendor.com"]


@pytest.mark.parametrize(
    "header",
    [
        "From: Sam Lee <sam.lee@vendor.com>\nSent: Monday, March 2, 2026 11:40 AM\nTo: Ops <ops@fabrikam.com>\nSubject: Offer",
        "Von: Sam Lee <sam.lee@vendor.com>\nGesendet: Montag, 2. März 2026 11:40\nAn: Ops <ops@fabrikam.com>\nBetreff: Angebot",
        "De : Sam Lee <sam.lee@vendor.com>\nEnvoyé : lundi 2 mars 2026 11:40\nÀ : Ops <ops@fabrikam.com>\nObjet : Offre",
        "De: Sam Lee <sam.lee@vendor.com>\nEnviado el: lunes, 2 de marzo de 2026 11:40\nPara: Ops <ops@fabrikam.com>\nAsunto: Oferta",
        "Van: Sam Lee <sam.lee@vendor.com>\nVerzonden: maandag 2 maart 2026 11:40\nAan: Ops <ops@fabrikam.com>\nOnderwerp: Aanbod",
        "Da: Sam Lee <sam.lee@vendor.com>\nInviato: lunedì 2 marzo 2026 11:40\nA: Ops <ops@fabrikam.com>\nOggetto: Offerta",
        "De: Sam Lee <sam.lee@vendor.com>\nEnviada em: segunda-feira, 2 de março de 2026 11:40\nPara: Ops <ops@fabrikam.com>\nAssunto: Oferta",
    ],
)
def test_outlook_header_blocks_in_seven_languages(header: str) -> None:
    text = f"Forwarding this for your opinion.\n\n________________________________\n{header}\n\nLet us talk licensing."
    new, quoted = split_quote(text)
    assert new == "Forwarding this for your opinion."
    assert quoted.startswith("________________________________")
    assert "Let us talk licensing." in quoted
    assert quoted_senders(quoted) == ["sam.lee@vendor.com"]


@pytest.mark.parametrize(
    "separator",
    [
        "-----Original Message-----",
        "-----Ursprüngliche Nachricht-----",
        "-----Message d'origine-----",
        "-----Mensaje original-----",
        "-----Oorspronkelijk bericht-----",
        "-----Messaggio originale-----",
        "-----Mensagem original-----",
        "---------- Forwarded message ---------",
    ],
)
def test_original_message_separators(separator: str) -> None:
    new, quoted = split_quote(f"See below.\n{separator}\nFrom: a@b.com\nBuy now")
    assert new == "See below."
    assert quoted.startswith(separator)


def test_a_from_line_in_ordinary_text_is_not_a_quote() -> None:
    text = "From: the desk of our CEO, a note on licensing.\nWe can cut your Microsoft 365 bill by 15%."
    assert split_quote(text) == (text, "")


def test_interleaved_angle_quotes_leave_the_answers() -> None:
    new, quoted = split_quote("> Do you need more seats?\nYes, ten more.\n> Annual or monthly?\nAnnual.")
    assert new == "Yes, ten more.\nAnnual."
    assert quoted == "> Do you need more seats?\n> Annual or monthly?"


def test_quoted_senders_oldest_last_across_a_thread() -> None:
    quoted = (
        "From: Anna Customer <anna@fabrikam.com>\nSent: Tuesday\nTo: Rep\nSubject: RE: Offer\n\nWhat does it cost?\n\n"
        "On Mon, Mar 2, 2026 at 9:00 AM Rep Two <rep.two@vendor.com> wrote:\n> Following up.\n>\n"
        "> From: Rep One <rep.one@vendor.com>\n> Sent: Friday\n> To: Anna\n> Subject: Offer\n> Free audit?"
    )
    assert quoted_senders(quoted) == ["anna@fabrikam.com", "rep.two@vendor.com", "rep.one@vendor.com"]


# --- signatures --------------------------------------------------------------------------


def test_sign_off_signature_keeps_job_title_and_company() -> None:
    text = (
        "Hi Jason,\n\nAre you free Thursday for a 20 minute licensing call?\n\nBest regards,\n\n"
        "Rohan Kapoor\nBusiness Solutions Specialist – SMB\nMicrosoft Corporation | Irving, TX\nDirect: +1 469 555 0143"
    )
    body, signature = split_signature(text)
    assert body.endswith("Are you free Thursday for a 20 minute licensing call?\n\nBest regards,")
    assert signature.startswith("Rohan Kapoor\nBusiness Solutions Specialist")
    assert "Microsoft Corporation" in signature


@pytest.mark.parametrize(
    "sign_off",
    [
        "Mit freundlichen Grüßen",
        "Cordialement,",
        "Saludos,",
        "Met vriendelijke groet,",
        "Cordiali saluti",
        "Atenciosamente,",
    ],
)
def test_sign_offs_in_other_languages(sign_off: str) -> None:
    body, signature = split_signature(
        f"Hallo,\n\nkurze Frage zur Lizenz.\n\n{sign_off}\nSam Lee\nAccount Manager, Lenovo"
    )
    assert body.endswith(sign_off)
    assert signature == "Sam Lee\nAccount Manager, Lenovo"


def test_signature_delimiter_device_line_and_sender_name() -> None:
    assert split_signature("Let us meet.\n-- \nKim Park\nSales, Dell") == (
        "Let us meet.",
        "Kim Park\nSales, Dell",
    )
    assert split_signature("Call me back.\n\nSent from my iPhone") == ("Call me back.", "Sent from my iPhone")
    text = "Jason,\n\nCircling back on my note.\n\n15 minutes Thursday?\n\nAlyssa Greer\nAccount Executive, Bastion Point\n(817) 555-0150"
    body, signature = split_signature(text, "Alyssa Greer")
    assert body.endswith("15 minutes Thursday?")
    assert signature.startswith("Alyssa Greer\nAccount Executive")


def test_thanks_inside_the_message_is_not_a_sign_off() -> None:
    text = "Hi,\nThanks!\nCould you send us the renewal quote for our 40 Dynamics 365 seats before Friday please?"
    assert split_signature(text) == (text, "")


def test_plain_text_body_parts() -> None:
    text = (
        "Hi Jason,\r\n\r\nOur free Veeam backup assessment: https://veeam.example/assess\r\n\r\n"
        "Kind regards,\r\nPriya Shah\r\nInside Sales, Veeam\r\n\r\n"
        "-----Original Message-----\r\nFrom: Jason <jason@fabrikam.com>\r\nWe are fine, thanks."
    )
    parts = parse_text(text, "Priya Shah")
    assert (
        parts.new
        == "Hi Jason,\n\nOur free Veeam backup assessment: https://veeam.example/assess\n\nKind regards,"
    )
    assert parts.signature == "Priya Shah\nInside Sales, Veeam"
    assert parts.quoted_senders == ["jason@fabrikam.com"]
    assert [link[0] for link in parts.links] == ["https://veeam.example/assess"]


def test_quoted_history_in_nordic_polish_and_catalan_clients() -> None:
    from detectors.body import parse_text

    cases = {
        "Den tirs. 3. mar. 2026 kl. 09.12 skrev Mikkel Brandt <mikkel@routecue.io>:": "mikkel@routecue.io",
        "W dniu 7.04.2026 o 09:15 Jan Nowak <jan@odra-it.pl> napisał(a):": "jan@odra-it.pl",
        "El dt., 7 d’abr. 2026 a les 9:15, Marta <marta@stayflow.io> va escriure:": "marta@stayflow.io",
    }
    for attribution, sender in cases.items():
        parts = parse_text(f"Hej Anders\n\nJeg prøver lige igen.\n\n{attribution}\n\nFørste mail her.\n")
        assert "Første mail" not in parts.new, attribution
        assert parts.quoted_senders == [sender], attribution
    outlook = "Hei igjen\n\nFølger opp.\n\nFra: Marius Haugen <marius@lonnsflyt.no>\nSendt: 3. september 2026\nTil: Ingrid\nEmne: Lønn\n\nFørste"
    parts = parse_text(outlook)
    assert parts.quoted_senders == ["marius@lonnsflyt.no"]


def test_outlook_quoting_a_sender_by_name_alone_names_that_sender() -> None:
    quoted = "Von: Felix Aigner\nGesendet: Dienstag, 24. März 2026 10:12\nAn: Josef Brandl\nBetreff: Glasfaser\n\nHallo"
    assert quoted_senders(quoted) == ["felix aigner"]
    assert quoted_senders("De : Maxime Girard\nEnvoyé : jeudi 9 avril\n\nBonjour") == ["maxime girard"]


def test_a_sentence_that_starts_with_the_senders_name_is_not_the_signature() -> None:
    text = (
        "Tisztelt Kovács Zsuzsanna!\n\nTóth Gergely vagyok, az Iratfelhő értékesítési vezetője.\n\n"
        "Dokumentumkezelő rendszerünket könyvelőirodáknak terveztük.\n\nÜdvözlettel:\nTóth Gergely\nIratfelhő Kft."
    )
    body, signature = split_signature(text, "Tóth Gergely")
    assert "Dokumentumkezelő" in body
    assert signature == "Tóth Gergely\nIratfelhő Kft."
    _, signed = split_signature("Thanks for your time.\n\nJamie Chen | Account Executive\nAcme", "Jamie Chen")
    assert signed.startswith("Jamie Chen | Account Executive")


def test_an_attribution_with_the_date_first_and_no_address_names_the_sender() -> None:
    # Thunderbird in Ukrainian: the date first, the name alone, "написав:" at the end.
    text = "Це мій останній лист на цю тему.\n\n23.06.2026 09:42, Богдан Литвиненко написав:\n> Добрий день!"
    new, quoted = split_quote(text)
    assert new == "Це мій останній лист на цю тему."
    assert quoted_senders(quoted) == ["богдан литвиненко"]
    # Gmail in Czech: no comma between the time and the name.
    text = (
        "Dovoluji si připomenout svůj e-mail.\n\nDne 22.09.2026 v 9:44 Radek Kučera napsal(a):\n\nDobrý den"
    )
    assert quoted_senders(split_quote(text)[1]) == ["radek kučera"]
    # Apple Mail in Indonesian: "Pada <date>, pukul <time>, <name> <address> menulis:".
    text = (
        "Mau follow up email saya minggu lalu.\n\n"
        "> Pada 5 Agu 2026, pukul 10.22, Andreas Wijaya <andreas@gudangku.id> menulis:\n>\n> Selamat pagi"
    )
    new, quoted = split_quote(text)
    assert new == "Mau follow up email saya minggu lalu."
    assert quoted_senders(quoted) == ["andreas@gudangku.id"]
    # A numbered line that ends in "wrote:" is no attribution: it takes a date.
    assert split_quote("Hi\n\n1. Two customers wrote:\n> it works")[0] == "Hi\n\n1. Two customers wrote:"


@pytest.mark.parametrize(
    "attribution",
    [
        "Li Wei <li@acme.example> 于2026年3月4日周三 上午10:22写道：",  # Chinese Gmail
        "2026년 3월 4일 (수) 오전 10:22, 김민수 <kim@acme.example>님이 작성:",  # Korean Gmail
        "2026年3月4日(水) 10:22 Tanaka Taro <tanaka@acme.example>:",  # Japanese Gmail: no verb
        "في الأربعاء، 4 مارس 2026 10:22 ص كتب Omar Ali <omar@acme.example>:",  # Arabic: the verb first
        "На ср, 4.03.2026 г. в 10:22 ч. Петя <petya@acme.example> написа:",  # Bulgarian
        "Op Wo, 4 Mrt 2026 om 10:22 het Piet <piet@acme.example> geskryf:",  # Afrikaans
        "Mnamo Jumatano, 4 Machi 2026, Amina <amina@acme.example> aliandika:",  # Swahili
        "बुध, 4 मार्च 2026 को 10:22 am बजे Rohit <rohit@acme.example> ने लिखा:",  # Hindi
    ],
)
def test_gmail_attributions_in_more_languages_name_the_quoted_sender(attribution: str) -> None:
    parts = parse_text(f"Just bumping this.\n\n{attribution}\n> Hello, my first mail")
    assert parts.new == "Just bumping this."
    assert parts.quoted_senders == [attribution.partition("<")[2].partition(">")[0]]


@pytest.mark.parametrize(
    "headers",
    [
        ("Lähettäjä", "Lähetetty", "Vastaanottaja", "Aihe"),  # Finnish
        ("От", "Отправлено", "Кому", "Тема"),  # Russian
        ("Kimden", "Gönderildi", "Kime", "Konu"),  # Turkish
        ("Από", "Αποστολή", "Προς", "Θέμα"),  # Greek
        ("差出人", "送信日時", "宛先", "件名"),  # Japanese
        ("보낸 사람", "보낸 날짜", "받는 사람", "제목"),  # Korean
        ("من", "تم الإرسال", "إلى", "الموضوع"),  # Arabic
        ("Dari", "Dikirim", "Kepada", "Perihal"),  # Indonesian
    ],
)
def test_outlook_quoting_in_more_languages_names_the_quoted_sender(headers: tuple[str, ...]) -> None:
    sender, sent, to, subject = headers
    html = (
        f"<div>Just checking in.</div><div id='divRplyFwdMsg'><b>{sender}:</b> Jan Kowal &lt;jan@acme.example&gt;"
        f"<br><b>{sent}:</b> 4.3.2026 10:22<br><b>{to}:</b> Maria<br><b>{subject}:</b> Offer</div><div>First</div>"
    )
    assert parse_html(html).quoted_senders == ["jan@acme.example"]
    text = f"Just checking in.\n\n{sender}: Jan Kowal <jan@acme.example>\n{sent}: 4.3.2026\n{to}: Maria\n{subject}: Offer\n\nFirst"
    parts = parse_text(text)
    assert (parts.new, parts.quoted_senders) == ("Just checking in.", ["jan@acme.example"])


def test_a_separator_in_any_language_starts_the_quote_when_a_header_block_follows() -> None:
    for separator, sender in [
        ("-----Исходное сообщение-----", "От"),
        ("----- Alkuperäinen viesti -----", "Lähettäjä"),
    ]:
        text = f"Hi again.\n\n{separator}\n{sender}: Jan <jan@acme.example>\nSent: 1.1.2026\nTo: Maria\nSubject: x\n\nFirst"
        parts = parse_text(text)
        assert (parts.new, parts.quoted_senders) == ("Hi again.", ["jan@acme.example"])
    # A heading between dashes in the mail itself is not quoted history, even with a "From" line below.
    for text in [
        "Agenda\n\n----- Part two -----\nThe budget.",
        "Hi\n\n----- Workshop -----\nFrom: 10:00 to 12:00\nBring laptops.",
    ]:
        assert parse_text(text).new == text


def test_prose_that_ends_with_an_address_is_no_attribution() -> None:
    text = "Following my 3 March call with your office manager Tom Reyes <tom@contoso.example>:\n- item one\n- item two"
    parts = parse_text(text)
    assert (parts.new, parts.quoted_senders) == (text, [])


def test_a_sign_off_above_a_translation_keeps_the_translation_in_the_body() -> None:
    text = (
        "田中様\n\nご提案です。\n\nよろしくお願いいたします。\n\nDear Mr Tanaka,\n"
        "We would like to propose a free trial of our cloud backup.\nCould we meet next week?\n"
        "Best regards,\nKenji Sato\nSales, Acme"
    )
    body, signature = split_signature(text, "Kenji Sato")
    assert "free trial of our cloud backup" in body
    assert signature == "Kenji Sato\nSales, Acme"


def test_ordinary_sentences_are_no_sent_from_my_phone_lines() -> None:
    for line in [
        "Από το επόμενο τρίμηνο προσφέρουμε δωρεάν δοκιμή.",
        "Dikirim dari gudang kami di Surabaya.",
    ]:
        assert split_signature(f"Hello\n\n{line}\nAndreas") == (f"Hello\n\n{line}\nAndreas", "")


@pytest.mark.parametrize(
    "sign_off",
    [
        "مع الشكر والتقدير،",
        "Pozdrawiam serdecznie",
        "С уважением,",
        "よろしくお願いいたします。",
        "Hormat saya,",
        "Trân trọng,",
    ],
)
def test_sign_offs_in_more_languages_start_the_signature_below_them(sign_off: str) -> None:
    # The writer's name is in another script than the display name, so only the sign-off can tell.
    text = f"Could we meet on Thursday?\n\n{sign_off}\nخالد العمري\nPharma Plus Software\n+962 795 318 442"
    body, signature = split_signature(text, "Khaled Omari")
    assert body == f"Could we meet on Thursday?\n\n{sign_off}"
    assert signature.startswith("خالد العمري\nPharma Plus Software")


@pytest.mark.parametrize(
    "device",
    ["Dikirim dari iPhone saya", "Skickat från min iPhone", "Отправлено с моего iPhone", "iPhoneから送信"],
)
def test_a_sent_from_my_phone_line_in_another_language_starts_the_signature(device: str) -> None:
    assert split_signature(f"Can we talk on Thursday?\n\n{device}") == ("Can we talk on Thursday?", device)
