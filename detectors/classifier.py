"""classify(message, context) -> Verdict: the detectors' one entry point.

1. Signals are computed once (detectors/signals.py).
2. The sender's identity is settled (detectors/attribution.py): which vendor stands behind
   the mail (its domain, an agency writing for it, or a seller no list names) or which vendor
   it pretends to be.
3. Every rule (detectors/rules.py, weights in rules.toml) that fires adds its weights to the
   labels; a label is only open when the identity allows it (no vendor labels without a
   vendor, no impersonation without a claimed vendor).
4. The highest total wins; the score says how clearly it beat the runner-up.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from detectors.attribution import Identity, identify, unlisted_seller
from detectors.message import Message
from detectors.rules import RULES, rule_specs
from detectors.signals import Signals, compute
from detectors.vendors import catalog, org_domain
from detectors.verdict import LABELS, RuleHit, Verdict

BASELINE = {"other": 2.0}
# How sharply the score rises with the winner's lead over the runner-up.
SCORE_SLOPE = 0.9


def _domains(values: Iterable[str]) -> frozenset[str]:
    out: set[str] = set()
    for value in values:
        value = value.strip().lower().lstrip("@")
        if value:
            out.add(value)
            if "@" not in value:
                out.add(org_domain(value))
    return frozenset(out)


@dataclass(frozen=True)
class Context:
    """What the detectors know about the mail's surroundings.

    msp_domains: the MSP's own domains (its mail is never vendor outreach).
    tenant_domains: the customer's domains; when empty, the recipients' domains stand in.
    allow_senders: addresses or domains never flagged.
    extra_vendors: vendors added in settings (dicts shaped like a vendors.toml entry).
    """

    msp_domains: frozenset[str] = frozenset()
    tenant_domains: frozenset[str] = frozenset()
    allow_senders: frozenset[str] = frozenset()
    extra_vendors: tuple[Mapping[str, Any], ...] = field(default=())

    @classmethod
    def build(
        cls,
        *,
        msp_domains: Iterable[str] = (),
        tenant_domains: Iterable[str] = (),
        allow_senders: Iterable[str] = (),
        extra_vendors: Iterable[Mapping[str, Any]] = (),
    ) -> Context:
        return cls(
            msp_domains=_domains(msp_domains),
            tenant_domains=_domains(tenant_domains),
            allow_senders=_domains(allow_senders),
            extra_vendors=tuple(extra_vendors),
        )


SUSPICIOUS = frozenset(
    {
        "authentication_failed",
        "authentication_missing",
        "lure",
        "reply_to_elsewhere",
        "freemail_claims_vendor",
        "bulk_sending_script",
        "vendor_name_on_unrelated_domain",
    }
)


# What it takes to call a vendor no list names a seller: a pitch, not just a conversation.
PITCH = frozenset(
    {
        "offer",
        "sales_role",
        "sales_engagement_tool",
        "cold_introduction",
        "right_person_ask",
        "seller_follow_up",
        "bypass_language",
        "meeting_link",
        "trade_fair_contact",
    }
)
RELATIONSHIP = frozenset(
    {"existing_relationship", "existing_provider", "customer_started_thread", "customer_initiated"}
)
# Signs that the sender writes cold, to a stranger.
COLD = frozenset(
    {"cold_introduction", "right_person_ask", "bypass_language", "seller_follow_up", "sales_engagement_tool"}
)
# A pitch this hard from a company no list names needs only one hint that it makes technology.
HARD_PITCH = 4
# An IT firm pitching is a competitor, however hard it pitches.
IT_FIRM = frozenset({"it_provider_language", "it_provider_strong", "it_firm_name"})


def _pitch(fired: set[str]) -> int:
    # Asking for a meeting adds to the pitch only next to an offer, after a chat at a trade fair's
    # stand, or in a sales tool's sequence to someone it has no relationship with (a customer-success
    # manager books check-ins with the same tools): on its own it is any conversation.
    meeting = "meeting_ask" in fired and (
        "offer" in fired
        or "trade_fair_contact" in fired
        or ("sales_engagement_tool" in fired and not fired & RELATIONSHIP)
    )
    return len(fired & PITCH) + meeting


def _outweighed(fired: set[str], signals: Signals) -> set[str]:
    """Rules a strong pitch outweighs: a seller writing after a first meeting ("as promised")
    still pitches, and so does a vendor's rep pushing an upgrade on "your contract". Not an IT
    firm's "your contract", nor "renew through us" or "as requested": those are the customer's
    provider or an answer to the customer. Strong is three signs; many offers count as one.
    A chat at a trade fair's stand ("as promised" after it) is no relationship at all."""
    if _pitch(fired) + ("offer_several" in fired) < 3:
        at_fair = "trade_fair_contact" in fired and _pitch(fired - {"trade_fair_contact"}) >= 1
        return fired & {"existing_relationship"} if at_fair else set()
    if fired & IT_FIRM or signals.said("through_us"):
        return fired & {"existing_relationship"}
    return fired & {"existing_relationship", "existing_provider"}


def _open_labels(identity: Identity, fired: set[str], outweighed: set[str]) -> set[str]:
    labels = {"other"}
    # A seller's own follow-up carries its pitch in the quoted first mail.
    pitch_needed = 1 if "seller_follow_up" in fired else 2
    related = (fired & RELATIONSHIP) - outweighed
    if identity.vendor_name and (
        identity.how != "unknown" or (_pitch(fired) >= pitch_needed and not related)
    ):
        labels.add("vendor_outreach")
    if identity.how in ("domain", "esp", "unknown"):
        labels.update(("vendor_marketing", "vendor_service"))
    # A claimed vendor alone is not phishing: it takes an imitation or something suspicious.
    if identity.claimed and (identity.claim_how in ("lookalike", "spoofed domain") or fired & SUSPICIOUS):
        labels.add("impersonation")
    cold = bool(fired & COLD) or (
        {"offer", "meeting_ask"} <= fired
        and not fired & {"existing_relationship", "existing_provider", "customer_started_thread"}
    )
    # An IT firm already working with the customer (the MSP itself, most often) is not a
    # competitor, and neither is a recruiter or an insurer that talks about IT.
    known = bool(fired & RELATIONSHIP) or "other_trade_seller" in fired
    it_firm = (
        "it_provider_language" in fired and ("it_provider_strong" in fired or "it_firm_name" in fired or cold)
    ) or ("it_firm_name" in fired and cold)
    if it_firm and not known and not identity.vendor_name and not identity.claimed:
        labels.add("competitor_outreach")
    return labels


def _hits(signals: Signals, identity: Identity) -> list[tuple[str, str]]:
    """(rule id, evidence) of every rule that fires, in the order of RULES."""
    hits = []
    for rule_id, check in RULES.items():
        evidence = check(signals, identity)
        if evidence:
            hits.append((rule_id, evidence))
    return hits


def classify(message: Message, context: Context) -> Verdict:
    vendors = catalog(context.extra_vendors)
    signals = compute(
        message,
        vendors,
        msp_domains=_domains(context.msp_domains),
        tenant_domains=_domains(context.tenant_domains),
        allow_senders=context.allow_senders,
    )
    identity = identify(signals, vendors)
    hits = _hits(signals, identity)
    fired = {rule_id for rule_id, _ in hits}
    if not (identity.how or identity.claimed) and _pitch(fired) >= HARD_PITCH and not fired & IT_FIRM:
        # A hard pitch from a company no list names: one hint that it makes technology will do.
        seller = unlisted_seller(signals, vendors, min_hints=1)
        if seller:
            identity = seller
            hits = _hits(signals, identity)
            fired = {rule_id for rule_id, _ in hits}
    specs = rule_specs()

    outweighed = _outweighed(fired, signals)
    open_labels = _open_labels(identity, fired, outweighed)
    totals = {label: BASELINE.get(label, 0.0) for label in LABELS if label in open_labels}
    for rule_id, _ in hits:
        if rule_id in outweighed:
            continue
        for label, weight in specs[rule_id].weights.items():
            if label in totals:
                totals[label] += weight

    ranked = sorted(totals.items(), key=lambda item: (-item[1], LABELS.index(item[0])))
    label, best = ranked[0]
    runner_up = ranked[1][1] if len(ranked) > 1 else best - 5.0
    score = 1.0 / (1.0 + math.exp(-SCORE_SLOPE * (best - runner_up)))

    if label == "impersonation" and identity.claimed:
        vendor = identity.claimed.name
    elif label.startswith("vendor_"):
        vendor = identity.vendor_name
    else:
        vendor = ""

    explained = [
        RuleHit(
            rule_id,
            specs[rule_id].description,
            0.0 if rule_id in outweighed else specs[rule_id].weights.get(label, 0.0),
            evidence,
        )
        for rule_id, evidence in hits
    ]
    explained.sort(key=lambda hit: -hit.weight)
    return Verdict(label=label, vendor=vendor, score=score, rules=tuple(explained))
