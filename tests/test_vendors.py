from __future__ import annotations

import pytest

from detectors.vendors import catalog, registrable, skeleton


def test_registrable_domain_uses_the_public_suffix_list_offline() -> None:
    assert registrable("mail.e.dell.co.uk") == "dell.co.uk"
    assert registrable("contosodental.com.au") == "contosodental.com.au"
    assert registrable("localhost") == ""


@pytest.mark.parametrize(
    ("domain", "vendor", "kind"),
    [
        ("microsoft.com", "Microsoft", "corporate"),
        ("e.dell.com", "Dell", "marketing"),  # a marketing label on the vendor's own domain
        ("mkto.meraki.com", "Cisco", "marketing"),
        ("accountprotection.microsoft.com", "Microsoft", "service"),
        ("dell.co.uk", "Dell", "corporate"),  # country variant of the vendor's domain
        ("zoom.us", "Zoom", "corporate"),
    ],
)
def test_owner_of_a_vendor_domain(domain: str, vendor: str, kind: str) -> None:
    match = catalog().owner(domain)
    assert match is not None and (match.vendor.name, match.kind) == (vendor, kind)


@pytest.mark.parametrize("domain", ["northwind-it.com.au", "dell.support", "gmail.com", ""])
def test_domains_no_vendor_owns(domain: str) -> None:
    assert catalog().owner(domain) is None


@pytest.mark.parametrize(
    ("domain", "vendor"),
    [
        ("rnicrosoft-licensing.com", "Microsoft"),  # rn reads as m
        ("micr0soft-billing.net", "Microsoft"),  # 0 reads as o
        ("xn--mcrosoft-support-9vn.com", "Microsoft"),  # punycode of "mіcrosoft-support.com", Cyrillic і
        ("dell-ordercenter.com", "Dell"),
        ("adobesign-documents.net", "Adobe"),
        ("exact-online-nl.com", "Exact Software"),  # the brand "exactonline" split by a hyphen
    ],
)
def test_lookalike_domains_are_tied_to_the_vendor_they_imitate(domain: str, vendor: str) -> None:
    found = catalog().lookalike(domain)
    assert found is not None and found[0].name == vendor


@pytest.mark.parametrize(
    "domain",
    [
        "microsoft.com",
        "modellers.com",
        "kestrelpipeline.co.uk",
        "outlook.com",
        # Words joined across a hyphen can spell a brand partway ("getac", "webex", "zoom"): not lookalikes.
        "get-active.co.uk",
        "web-experts.de",
        "cis-consulting.co.uk",
        "zoo-magdeburg.de",
        "in-tuition.co.uk",
        "as-usual.com",
    ],
)
def test_genuine_and_unrelated_domains_are_not_lookalikes(domain: str) -> None:
    assert catalog().lookalike(domain) is None


def test_skeleton_folds_confusable_letters() -> None:
    assert skeleton("mіcrosoft") == "microsoft"  # Cyrillic і
    assert skeleton("rnicrosoft") == "microsoft"


def test_msp_can_add_a_vendor_in_settings() -> None:
    extra = [{"name": "Acme Backup", "domains": ["acmebackup.io"], "products": ["Acme Vault"]}]
    vendors = catalog(extra)
    match = vendors.owner("sales.acmebackup.io")
    assert match is not None and match.vendor.name == "Acme Backup"
    assert vendors.product_of("the Acme Vault team") is match.vendor
    assert catalog().owner("acmebackup.io") is None  # the built-in catalog is untouched


def test_vendor_named_in_text_as_a_word_only() -> None:
    vendors = catalog()
    assert vendors.named_in("on behalf of Microsoft Australia").name == "Microsoft"
    assert vendors.named_in("the modellers' guild") is None


def test_a_surname_that_starts_with_a_vendor_name_is_not_the_vendor() -> None:
    vendors = catalog()
    assert vendors.named_in("Marco Dell'Aquila") is None
    assert vendors.named_in("Giulia Dell’Orto") is None
    assert vendors.named_in("Dell's new laptops").name == "Dell"
    assert vendors.named_in("Microsoft’s licensing team").name == "Microsoft"


def test_country_variants_only_for_distinctive_names() -> None:
    vendors = catalog()
    assert vendors.owner("vodafone.com.gh").vendor.name == "Vodafone"  # a brand: any country
    assert vendors.owner("nice.fr") is None  # NICE's label is a dictionary word


def test_telecom_acronyms_in_other_languages_are_not_the_operator() -> None:
    assert catalog().named_in("Anadolu BT Hizmetleri") is None  # "BT" is Turkish for IT


def test_turkish_endings_after_an_apostrophe_still_name_the_vendor() -> None:
    vendors = catalog()
    assert vendors.named_in("Microsoft'un lisans ekibi").name == "Microsoft"
    assert vendors.named_in("Cisco’nun ortağı").name == "Cisco"
