"""The vendor catalog (detectors/vendors.toml plus what the MSP adds) and domain logic:
who owns a domain, which domains merely look like a vendor's, which vendor a text names.

Registrable domains come from the public-suffix list bundled with tldextract: it is never
fetched at run time, so this works offline and gives the same answer everywhere.
"""

from __future__ import annotations

import contextlib
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from itertools import accumulate
from typing import Any

import tldextract
from unidecode import unidecode

# suffix_list_urls=() means "use the snapshot shipped in the package": no network, ever.
_EXTRACT = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

# Subdomain labels that vendors' bulk mail platforms use (e.dell.com, mkto.meraki.com, ...).
MARKETING_LABELS = frozenset(
    [
        "e",
        "em",
        "em1",
        "em2",
        "email",
        "emails",
        "mail",
        "mailing",
        "mailer",
        "mkt",
        "mkto",
        "marketing",
        "news",
        "newsletter",
        "newsletters",
        "info",
        "go",
        "click",
        "engage",
        "campaign",
        "campaigns",
        "comms",
        "communications",
        "updates",
        "promo",
        "promotions",
        "offers",
        "events",
        "learn",
        "e-mail",
        "mktg",
        "hello",
        "insights",
    ]
)
# Consumer mailbox providers: a vendor's staff do not write from these. National ones too: a rep
# abroad often writes from one of those.
FREEMAIL = frozenset(
    {
        # international
        "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "hotmail.co.uk", "live.com",
        "live.co.uk", "msn.com", "windowslive.com", "yahoo.com", "yahoo.co.uk", "yahoo.fr", "yahoo.de",
        "yahoo.es", "yahoo.it", "ymail.com", "rocketmail.com", "icloud.com", "me.com", "mac.com", "aol.com",
        "mail.com", "email.com", "gmx.com", "gmx.de", "gmx.net", "gmx.at", "gmx.ch", "gmx.fr", "proton.me",
        "protonmail.com", "pm.me", "tutanota.com", "tuta.io", "fastmail.com", "hey.com", "zoho.com",
        "yandex.com", "hotmail.fr", "hotmail.de", "hotmail.es", "hotmail.it", "hotmail.nl", "hotmail.be",
        "live.fr", "live.de", "live.nl", "live.it", "outlook.fr", "outlook.de", "outlook.es",
        # western Europe
        "web.de", "t-online.de", "freenet.de", "aon.at", "bluewin.ch", "orange.fr", "wanadoo.fr", "free.fr",
        "sfr.fr", "laposte.net", "neuf.fr", "libero.it", "virgilio.it", "alice.it", "tiscali.it", "tin.it",
        "email.it", "telefonica.net", "terra.es", "sapo.pt", "ziggo.nl", "kpnmail.nl", "xs4all.nl",
        "planet.nl", "home.nl", "telenet.be", "skynet.be", "btinternet.com", "sky.com", "talktalk.net",
        "virginmedia.com", "ntlworld.com", "blueyonder.co.uk", "eircom.net",
        # central and eastern Europe
        "seznam.cz", "email.cz", "post.cz", "centrum.cz", "volny.cz", "atlas.cz", "azet.sk", "zoznam.sk",
        "centrum.sk", "post.sk", "wp.pl", "o2.pl", "onet.pl", "interia.pl", "op.pl", "tlen.pl", "gazeta.pl",
        "freemail.hu", "citromail.hu", "abv.bg", "mail.bg", "dir.bg", "yahoo.ro", "siol.net", "t-com.hr",
        "net.hr", "mail.ee", "hot.ee", "inbox.lv", "inbox.lt", "one.lt", "yandex.ru", "ya.ru", "mail.ru",
        "bk.ru", "list.ru", "inbox.ru", "rambler.ru", "yandex.kz", "yandex.ua", "ukr.net", "i.ua", "meta.ua",
        "mynet.com", "walla.co.il",
        # the Americas
        "terra.com.br", "uol.com.br", "bol.com.br", "ig.com.br", "yahoo.com.br", "hotmail.com.br",
        "outlook.com.br", "yahoo.com.mx", "hotmail.com.mx", "prodigy.net.mx", "yahoo.com.ar",
        "hotmail.com.ar", "comcast.net", "verizon.net", "att.net", "sbcglobal.net", "bellsouth.net",
        "cox.net", "charter.net", "earthlink.net", "optonline.net", "shaw.ca", "rogers.com", "sympatico.ca",
        "yahoo.ca", "hotmail.ca",
        # Asia, Oceania and Africa
        "bigpond.com", "bigpond.net.au", "optusnet.com.au", "iinet.net.au", "tpg.com.au", "yahoo.com.au",
        "hotmail.com.au", "outlook.com.au", "xtra.co.nz", "qq.com", "163.com", "126.com", "yeah.net",
        "sina.com", "sohu.com", "foxmail.com", "yahoo.co.jp", "hotmail.co.jp", "naver.com", "daum.net",
        "hanmail.net", "nate.com", "yahoo.com.sg", "singnet.com.sg", "yahoo.com.my", "yahoo.co.id",
        "yahoo.com.ph", "yahoo.com.vn", "yahoo.co.th", "yahoo.com.hk", "netvigator.com", "yahoo.com.tw",
        "rediffmail.com", "yahoo.co.in", "sify.com", "mweb.co.za", "webmail.co.za", "telkomsa.net",
    }
)  # fmt: skip


@lru_cache(maxsize=65536)
def registrable(domain: str) -> str:
    """example: "mail.e.dell.co.uk" -> "dell.co.uk"; "" for hosts without a public suffix."""
    domain = domain.strip().strip(".").lower()
    if not domain:
        return ""
    parts = _EXTRACT(domain)
    if not parts.suffix or not parts.domain:
        return ""
    return f"{parts.domain}.{parts.suffix}"


def org_domain(domain: str) -> str:
    """The organisation a host belongs to: its registrable domain, or the host itself when it
    has none (an intranet name, a bare IP)."""
    return registrable(domain) or domain


def subdomain(domain: str) -> str:
    domain = domain.strip().strip(".").lower()
    reg = registrable(domain)
    return domain[: -len(reg)].rstrip(".") if reg and domain != reg else ""


_LOOKALIKE_SWAPS = (("rn", "m"), ("vv", "w"), ("0", "o"), ("1", "l"), ("!", "i"), ("|", "l"))


@lru_cache(maxsize=65536)
def skeleton(label: str) -> str:
    """A domain label folded the way a reader's eye folds it: "rnicrosoft" and "micr0soft"
    and "mіcrosoft" (Cyrillic і) all become "microsoft"."""
    if label.startswith("xn--"):
        with contextlib.suppress(UnicodeError):
            label = label.encode("ascii").decode("idna")
    folded = unidecode(label).lower()
    for old, new in _LOOKALIKE_SWAPS:
        folded = folded.replace(old, new)
    return folded


@dataclass(frozen=True, slots=True)
class Vendor:
    name: str
    domains: frozenset[str]
    marketing_domains: frozenset[str]
    service_domains: frozenset[str]
    agency_domains: frozenset[str]
    brands: tuple[str, ...]
    products: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DomainMatch:
    vendor: Vendor
    # "corporate" (the vendor's own domain), "marketing", "service" or "agency"
    kind: str


def _norm_domains(values: Iterable[str]) -> frozenset[str]:
    return frozenset(v.strip().lower().lstrip("@").strip(".") for v in values if v and v.strip())


def _vendor_from(data: Mapping[str, Any]) -> Vendor:
    name = str(data["name"]).strip()
    brands = tuple(b.strip().lower() for b in data.get("brands") or [] if b.strip())
    if not brands:
        brands = (re.sub(r"[^a-z0-9]", "", name.lower()),)
    return Vendor(
        name=name,
        domains=_norm_domains(data.get("domains") or []),
        marketing_domains=_norm_domains(data.get("marketing_domains") or []),
        service_domains=_norm_domains(data.get("service_domains") or []),
        agency_domains=_norm_domains(data.get("agency_domains") or []),
        brands=brands,
        products=tuple(p.strip() for p in data.get("products") or [] if p.strip()),
    )


class Catalog:
    """All known vendors with fast look-ups by domain, lookalike domain and name in text."""

    def __init__(self, vendors: Iterable[Vendor]) -> None:
        self.vendors: tuple[Vendor, ...] = tuple(vendors)
        self._by_domain: dict[str, DomainMatch] = {}
        # Later entries (the MSP's) win over the built-in ones for the same domain.
        for vendor in self.vendors:
            for kind, domains in (
                ("agency", vendor.agency_domains),
                ("service", vendor.service_domains),
                ("marketing", vendor.marketing_domains),
                ("corporate", vendor.domains),
            ):
                for domain in domains:
                    self._by_domain[domain] = DomainMatch(vendor, kind)
        # Country variants of a vendor's own domain (dell.co.uk for dell.com), by second-level
        # label, for distinctive labels only (a brand): nice.fr or axis.de are not NICE's or Axis's.
        self._by_label: dict[str, Vendor] = {}
        for vendor in self.vendors:
            for domain in vendor.domains:
                reg = registrable(domain)
                label = reg.split(".")[0] if reg == domain else ""
                if len(label) >= 3 and label in vendor.brands:
                    self._by_label.setdefault(label, vendor)
        self._brands: list[tuple[str, Vendor]] = sorted(
            ((brand, v) for v in self.vendors for brand in v.brands if len(brand) >= 3),
            key=lambda item: -len(item[0]),
        )
        self._brand_set = frozenset(brand for brand, _ in self._brands)
        self._brand_rank: dict[str, int] = {}
        self._brand_rank_vendor: dict[str, Vendor] = {}
        for rank, (brand, vendor) in enumerate(self._brands):
            self._brand_rank.setdefault(brand, rank)
            self._brand_rank_vendor.setdefault(brand, vendor)
        long_brands = sorted({b for b in self._brand_set if len(b) >= 6}, key=len, reverse=True)
        # Overlapping matches: a lookahead finds a brand starting at every position.
        self._long_brand_re = re.compile("(?=(" + "|".join(map(re.escape, long_brands)) + "))")
        names = {v.name.lower(): v for v in self.vendors}
        for v in self.vendors:
            for brand in v.brands:
                names.setdefault(brand, v)
        self._names = names
        alternatives = sorted(names, key=len, reverse=True)
        # One regex for every vendor name and brand: word-bounded, case-insensitive. After an
        # apostrophe only a short lower-case ending may follow: "Dell's" and Turkish "Dell'in"
        # name Dell, the surname "Dell'Aquila" does not.
        self._name_re = re.compile(
            r"(?<![\w@.-])("
            + "|".join(re.escape(n) for n in alternatives)
            + r")(?![\w-])(?!['’](?-i:(?!s\b|[a-zçğıöşü]{1,5}\b))\w)",
            re.IGNORECASE,
        )

        # Product names ("on behalf of the Dynamics 365 Business Central team" is Microsoft's agency).
        self._product_vendor = {p.lower(): v for v in self.vendors for p in v.products}
        self._product_re = re.compile(
            r"(?<![\w-])("
            + "|".join(re.escape(p) for p in sorted(self._product_vendor, key=len, reverse=True))
            + r")(?![\w-])",
            re.IGNORECASE,
        )

    # --- domains --------------------------------------------------------------------------
    def owner(self, domain: str) -> DomainMatch | None:
        """The vendor a sending domain belongs to, and in what role; None when no vendor's."""
        domain = domain.lower().strip(".")
        if not domain:
            return None
        # Exact host first (service or marketing hosts listed in full), then the registrable domain.
        match = self._walk(domain)
        if match:
            return match
        reg = registrable(domain)
        if reg:
            label, _, suffix = reg.partition(".")
            vendor = self._by_label.get(label)
            # Only country-code suffixes (.de, .co.uk, .com.au): "dell.support" is not Dell's.
            if vendor and len(suffix.rsplit(".", 1)[-1]) == 2:
                return DomainMatch(vendor, "corporate")
        return None

    def _walk(self, domain: str) -> DomainMatch | None:
        probe = domain
        while True:
            match = self._by_domain.get(probe)
            if match:
                if match.kind == "corporate" and probe != domain:
                    label = domain[: -len(probe)].rstrip(".").split(".")[0]
                    if label in MARKETING_LABELS:
                        return DomainMatch(match.vendor, "marketing")
                return match
            if "." not in probe:
                return None
            probe = probe.split(".", 1)[1]
            if probe.count(".") == 0:
                return None

    def lookalike(self, domain: str) -> tuple[Vendor, str] | None:
        """A vendor whose brand a domain imitates (rnicrosoft-support.com, dell-ordercenter.com),
        with the brand found. Domains a vendor really owns are never lookalikes."""
        domain = domain.lower().strip(".")
        if not domain or self.owner(domain) or registrable(domain) in FREEMAIL:
            return None
        reg = org_domain(domain)
        label = reg.split(".")[0]
        folded = skeleton(label)
        pieces = re.split(r"[-_.0-9]+", folded)
        # A brand as a piece of the label, at its start, or long enough not to occur by chance;
        # the longest wins. Set look-ups instead of a loop over every brand.
        found = set(pieces) & self._brand_set
        found.update(p for n in range(4, len(folded) + 1) if (p := folded[:n]) in self._brand_set)
        # Whole pieces joined too: "exact-online-nl.com" starts with the brand "exactonline" (but
        # "get-active" does not start with "getac").
        found.update(p for p in accumulate(pieces[:4]) if p in self._brand_set)
        if len(folded) >= 6:
            found.update(m.group(1) for m in self._long_brand_re.finditer(folded))
        if not found:
            return None
        brand = min(found, key=self._brand_rank.__getitem__)
        return self._brand_rank_vendor[brand], brand

    # --- text ----------------------------------------------------------------------------
    def named_in(self, text: str) -> Vendor | None:
        """The first vendor whose name or brand appears in ``text`` as a word."""
        found = self._name_re.search(text)
        return self._names[found.group(1).lower()] if found else None

    def product_of(self, text: str) -> Vendor | None:
        """The vendor of the first product named in a short ``text``."""
        found = self._product_re.search(text)
        return self._product_vendor[found.group(1).lower()] if found else None

    def by_name(self, name: str) -> Vendor | None:
        return self._names.get(name.lower())


def _builtin_data() -> list[dict[str, Any]]:
    text = resources.files("detectors").joinpath("vendors.toml").read_text(encoding="utf-8")
    return list(tomllib.loads(text)["vendor"])


@lru_cache(maxsize=32)
def _catalog_for(extra_key: tuple[tuple[tuple[str, Any], ...], ...]) -> Catalog:
    extra = [dict(items) for items in extra_key]
    return Catalog(_vendor_from(d) for d in [*_builtin_data(), *extra])


def catalog(extra_vendors: Iterable[Mapping[str, Any]] = ()) -> Catalog:
    """The built-in catalog plus ``extra_vendors`` (dicts shaped like a vendors.toml entry).
    Built once per distinct set of extras."""
    key = tuple(
        tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in vendor.items()))
        for vendor in extra_vendors
    )
    return _catalog_for(key)
