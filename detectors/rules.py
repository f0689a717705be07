"""The rules: one small function per rule id in detectors/rules.toml.

A rule reads the message's :class:`~detectors.signals.Signals` and the sender's
:class:`~detectors.attribution.Identity` (which vendor, if any, stands behind the mail) and
returns the evidence it found, or None when it does not fire. Weights and descriptions live in
rules.toml.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from detectors.attribution import Identity, it_firm_named, other_trade
from detectors.signals import Signals
from detectors.vendors import org_domain
from detectors.verdict import few

# --- the rules ----------------------------------------------------------------------------------

Rule = Callable[[Signals, Identity], str | None]
RULES: dict[str, Rule] = {}


def rule(fn: Rule) -> Rule:
    RULES[fn.__name__] = fn
    return fn


@rule
def allow_listed(s: Signals, i: Identity) -> str | None:
    return s.allowlisted or None


@rule
def customer_own_domain(s: Signals, i: Identity) -> str | None:
    return f"{s.sender.address} is at {s.reg}" if s.internal else None


@rule
def msp_own_domain(s: Signals, i: Identity) -> str | None:
    return f"{s.sender.address} is at {s.reg}" if s.msp else None


@rule
def social_network(s: Signals, i: Identity) -> str | None:
    return s.domain if s.social else None


@rule
def personal_freemail(s: Signals, i: Identity) -> str | None:
    return s.sender.address if s.freemail and not i.claimed and i.how != "unknown" else None


@rule
def vendor_domain(s: Signals, i: Identity) -> str | None:
    return i.evidence if i.how == "domain" else None


@rule
def vendor_authenticated(s: Signals, i: Identity) -> str | None:
    if i.how == "domain" and s.auth.passed:
        return s.auth.summary
    return None


@rule
def vendor_name_on_bulk_mail(s: Signals, i: Identity) -> str | None:
    return i.evidence if i.how == "esp" else None


@rule
def agency_for_vendor(s: Signals, i: Identity) -> str | None:
    return i.evidence if i.how == "agency" else None


@rule
def unknown_vendor(s: Signals, i: Identity) -> str | None:
    return i.evidence if i.how == "unknown" else None


@rule
def person_sender(s: Signals, i: Identity) -> str | None:
    return f"{s.sender.name or s.sender.address}" if s.person else None


@rule
def system_sender(s: Signals, i: Identity) -> str | None:
    return s.role if s.role and not s.person else None


@rule
def service_domain(s: Signals, i: Identity) -> str | None:
    return s.domain if s.owner and s.owner.kind == "service" else None


@rule
def one_to_one(s: Signals, i: Identity) -> str | None:
    if 0 < s.recipients <= 2 and not s.bulk_headers:
        return f"{s.recipients} recipient{'s' if s.recipients > 1 else ''}"
    return None


@rule
def personal_greeting(s: Signals, i: Identity) -> str | None:
    return f"addresses '{s.personal_greeting}'" if s.personal_greeting and not s.bulk_headers else None


@rule
def sales_engagement_tool(s: Signals, i: Identity) -> str | None:
    return ", ".join(s.engagement[:3]) or None


@rule
def list_unsubscribe(s: Signals, i: Identity) -> str | None:
    listed = [h for h in s.bulk_headers if h.startswith(("list-", "precedence"))]
    return ", ".join(listed[:3]) or None


@rule
def marketing_platform(s: Signals, i: Identity) -> str | None:
    platform = [h for h in s.bulk_headers if not h.startswith(("list-", "precedence"))]
    return ", ".join(platform[:3]) or None


@rule
def marketing_subdomain(s: Signals, i: Identity) -> str | None:
    if i.how == "domain" and (s.marketing_label or s.owner and s.owner.kind == "marketing"):
        return s.domain
    return None


@rule
def bulk_footer(s: Signals, i: Identity) -> str | None:
    found = s.said("bulk")
    return few(found) if len(found) >= 2 else None


@rule
def sales_role(s: Signals, i: Identity) -> str | None:
    return few(s.said("sales_role"), 3) if s.said("sales_role") else None


@rule
def offer(s: Signals, i: Identity) -> str | None:
    return few(s.said("offer")) if s.said("offer") else None


@rule
def offer_several(s: Signals, i: Identity) -> str | None:
    return f"{len(s.said('offer'))} offer words" if len(s.said("offer")) >= 3 else None


@rule
def meeting_ask(s: Signals, i: Identity) -> str | None:
    return few(s.said("meeting"), 3) if s.said("meeting") else None


@rule
def meeting_link(s: Signals, i: Identity) -> str | None:
    return s.meeting_links[0] if s.meeting_links else None


@rule
def bypass_language(s: Signals, i: Identity) -> str | None:
    return few(s.said("bypass"), 3) if s.said("bypass") else None


@rule
def seller_follow_up(s: Signals, i: Identity) -> str | None:
    if s.said("followup"):
        return few(s.said("followup"), 2)
    if s.reply and s.own_thread:
        who = s.reg if "@" in s.thread_starter else s.thread_starter  # a name when quoted without address
        return f"earlier message in the thread is also from {who}"
    return None


@rule
def it_provider_language(s: Signals, i: Identity) -> str | None:
    return few(s.said("it_provider"), 3) if s.said("it_provider") and i.how != "domain" else None


@rule
def it_firm_name(s: Signals, i: Identity) -> str | None:
    """A sender whose company name reads as an IT-services firm ("limmat-it.ch", "Léman Informatique")."""
    return None if i.how == "domain" else it_firm_named(s)


@rule
def it_provider_strong(s: Signals, i: Identity) -> str | None:
    # "Our technicians" counts here, with other IT-services words (phrases.toml, field_staff).
    terms = len(s.said("it_provider")) + len(s.said("field_staff"))
    if s.said("it_provider") and terms >= 3 and i.how != "domain":
        return f"{terms} IT-services terms"
    return None


@rule
def existing_relationship(s: Signals, i: Identity) -> str | None:
    return few(s.said("relationship"), 2) if s.said("relationship") else None


@rule
def trade_fair_contact(s: Signals, i: Identity) -> str | None:
    return few(s.said("trade_fair"), 2) if s.said("trade_fair") else None


@rule
def existing_provider(s: Signals, i: Identity) -> str | None:
    said = s.said("through_us") + s.said("provider")
    return few(said, 2) if said else None


@rule
def no_tech_relevance(s: Signals, i: Identity) -> str | None:
    if i.vendor or i.how or i.claimed or s.internal or s.msp:
        return None
    if not s.said("tech") and not s.said("it_provider"):
        return "no technology, vendor or IT-services terms"
    return None


@rule
def transactional_language(s: Signals, i: Identity) -> str | None:
    found = s.said("transactional")
    return few(found) if len(found) >= 2 else None


@rule
def transactional_many(s: Signals, i: Identity) -> str | None:
    found = s.said("transactional")
    return f"{len(found)} transactional terms" if len(found) >= 5 else None


@rule
def system_reference(s: Signals, i: Identity) -> str | None:
    return few(s.references, 2) if s.references else None


@rule
def service_system_headers(s: Signals, i: Identity) -> str | None:
    return ", ".join(s.service_headers[:3]) or None


_CASE_WORDS = (
    r"case|ticket|request|incident|sr|order|vorgang|fall|anfrage|bestellung|auftrag|dossier|demande|commande|"
    r"caso|solicitud|incidencia|pedido|chamado|ocorrência|aanvraag|melding|bestelling|richiesta|pratica|"
    r"segnalazione|ordine|zgłoszenie|sprawa|zamówienie"
)
_CASE_SUBJECT = re.compile(
    r"(trackingid|\[\s*(?:ticket|case|sr)\b|\bservice request\b|"
    rf"\b(?:{_CASE_WORDS})\b\s*(?:#|:|no\.?|nr\.?|n[°º]|number|nummer|numer|número|numero)?\s*[#:]?\s*[A-Z]{{0,4}}-?\d{{5,}})",
    re.IGNORECASE,
)


@rule
def support_case_subject(s: Signals, i: Identity) -> str | None:
    found = _CASE_SUBJECT.search(s.message.subject)
    return f"subject: {s.message.subject[:80]}" if found else None


@rule
def customer_initiated(s: Signals, i: Identity) -> str | None:
    return few(s.said("customer_initiated"), 2) if s.said("customer_initiated") else None


@rule
def cold_introduction(s: Signals, i: Identity) -> str | None:
    return few(s.said("introduction"), 2) if s.said("introduction") and not s.reply else None


@rule
def other_trade_seller(s: Signals, i: Identity) -> str | None:
    if i.vendor or i.claimed or other_trade(s) < 2:
        return None
    return few(s.said("other_trade"), 2)


@rule
def right_person_ask(s: Signals, i: Identity) -> str | None:
    return few(s.said("right_person"), 2) if s.said("right_person") and not s.reply else None


@rule
def customer_started_thread(s: Signals, i: Identity) -> str | None:
    if "@" not in s.thread_starter:
        return None
    starter_domain = s.thread_starter.rpartition("@")[2]
    if org_domain(starter_domain) in s.tenant_domains:
        return f"thread started by {s.thread_starter}"
    return None


@rule
def forwarded_by_colleague(s: Signals, i: Identity) -> str | None:
    return s.message.subject[:60] if s.forward else None


@rule
def lookalike_domain(s: Signals, i: Identity) -> str | None:
    return i.evidence if i.claim_how == "lookalike" else None


@rule
def display_name_claims_vendor(s: Signals, i: Identity) -> str | None:
    if i.claimed and s.display_vendor is i.claimed:
        return f"'{s.sender.name[:60]}' <{s.sender.address}>"
    return None


@rule
def claimed_in_content(s: Signals, i: Identity) -> str | None:
    return i.evidence if i.claim_how == "content" else None


@rule
def vendor_name_on_unrelated_domain(s: Signals, i: Identity) -> str | None:
    if i.claim_how == "display name" and i.how != "esp" and not s.freemail:
        return f"{i.claimed.name if i.claimed else ''} is not {s.reg}"
    return None


@rule
def vendor_domain_spoofed(s: Signals, i: Identity) -> str | None:
    return i.evidence if i.claim_how == "spoofed domain" else None


@rule
def authentication_failed(s: Signals, i: Identity) -> str | None:
    return s.auth.summary if s.auth.failed else None


@rule
def authentication_missing(s: Signals, i: Identity) -> str | None:
    return s.auth.summary if s.auth.unsigned and not s.auth.failed and not s.auth.passed else None


@rule
def lure(s: Signals, i: Identity) -> str | None:
    found = s.said("lure")
    return few(found, 3) if found else None


@rule
def lure_several(s: Signals, i: Identity) -> str | None:
    return f"{len(s.said('lure'))} pressure cues" if len(s.said("lure")) >= 3 else None


@rule
def reply_to_elsewhere(s: Signals, i: Identity) -> str | None:
    for addr in s.message.reply_to[:3]:
        reg = org_domain(addr.domain)
        if not reg or reg == s.reg or (i.vendor and reg in i.vendor.domains):
            continue
        return addr.address
    return None


@rule
def freemail_claims_vendor(s: Signals, i: Identity) -> str | None:
    return s.sender.address if s.freemail and i.claimed else None


@rule
def bulk_sending_script(s: Signals, i: Identity) -> str | None:
    for name in ("x-php-originating-script", "x-authenticated-sender", "x-get-message-sender-via"):
        if s.message.header(name):
            return name
    return None


@dataclass(frozen=True, slots=True)
class RuleSpec:
    id: str
    description: str
    weights: dict[str, float]


@lru_cache(maxsize=1)
def rule_specs() -> dict[str, RuleSpec]:
    data = tomllib.loads(resources.files("detectors").joinpath("rules.toml").read_text(encoding="utf-8"))
    specs = {
        rid: RuleSpec(rid, str(entry["description"]), {k: float(v) for k, v in entry["weights"].items()})
        for rid, entry in data.items()
    }
    missing = set(specs) ^ set(RULES)
    if missing:
        raise RuntimeError(f"rules.toml and rules.py disagree about: {', '.join(sorted(missing))}")
    return specs
