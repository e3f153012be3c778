"""The subsidiaries that book customers (NetSuite OneWorld), shared by the ERP and the generator.

A generated ERP customer's legal entity must be one the simulated ERP knows, with the
same functional currency and tax rate, or its orders are refused (``unknown_legal_entity``).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LEGAL_ENTITIES", "LegalEntity"]


@dataclass(frozen=True, slots=True)
class LegalEntity:
    code: str
    name: str
    currency: str
    tax_bps: int  # the indirect tax the subsidiary charges on SaaS sales


# Functional currency and standard VAT/GST rate in basis points. US01 charges 0: US
# sales tax on SaaS varies by state and is not modelled; BR01 likewise (ISS and ICMS
# on software vary by municipality and state).
LEGAL_ENTITIES: dict[str, LegalEntity] = {
    e.code: e
    for e in (
        LegalEntity("US01", "golive Inc.", "USD", 0),
        LegalEntity("CA01", "golive Canada Ltd.", "CAD", 500),
        LegalEntity("GB01", "golive UK Ltd.", "GBP", 2000),
        LegalEntity("DE01", "golive GmbH", "EUR", 1900),
        LegalEntity("FR01", "golive SAS", "EUR", 2000),
        LegalEntity("NL01", "golive B.V.", "EUR", 2100),
        LegalEntity("SE01", "golive Sverige AB", "SEK", 2500),
        LegalEntity("JP01", "golive K.K.", "JPY", 1000),
        LegalEntity("AU01", "golive Pty Ltd", "AUD", 1000),
        LegalEntity("SG01", "golive Pte. Ltd.", "SGD", 900),
        LegalEntity("BR01", "golive Brasil Ltda.", "BRL", 0),
        LegalEntity("MX01", "golive México S. de R.L. de C.V.", "MXN", 1600),
    )
}
