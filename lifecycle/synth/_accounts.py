"""CRM accounts in hierarchies (parents and subsidiaries across countries) and their contacts."""

from __future__ import annotations

from dataclasses import dataclass, field

from lifecycle.synth._catalog import REGIONS, Country
from lifecycle.synth._time import US_PER_DAY
from lifecycle.synth._world import Obj, World

__all__ = ["AccountCtx", "make_family"]

_SEGMENTS = (("smb", 0.62), ("mid_market", 0.28), ("enterprise", 0.10))
_REGION_WEIGHTS = (("na", 0.45), ("emea", 0.30), ("apac", 0.17), ("latam", 0.08))
_SUBSIDIARIES = {"smb": (0, 0), "mid_market": (0, 1), "enterprise": (1, 4)}
_CONTACTS = {"smb": (1, 3), "mid_market": (2, 6), "enterprise": (4, 10)}
_INDUSTRIES = (
    "software", "financial_services", "healthcare", "manufacturing", "retail",
    "education", "media", "logistics", "energy", "public_sector", "telecom", "hospitality",
)  # fmt: skip


@dataclass
class AccountCtx:
    """An account and what its lifecycle needs to know about it."""

    obj: Obj
    segment: str
    country: Country
    created_us: int
    domain: str
    emails: list[str]
    billing_customer: Obj | None = None
    organization: Obj | None = None
    erp_customer: Obj | None = None
    entitlements: list[tuple[int, int, Obj]] = field(default_factory=list)  # (from, to, ent)


def _weighted(w: World, table: tuple[tuple[str, float], ...]) -> str:
    r = w.rng.random()
    for value, weight in table:
        r -= weight
        if r < 0:
            return value
    return table[-1][0]


def _account(
    w: World, at_us: int, name: str, domain: str, segment: str, country: Country,
    parent: Obj | None, industry: str,
) -> AccountCtx:  # fmt: skip
    obj = w.new("account", at_us)
    obj.update(
        name=name, parent_id=None if parent is None else parent["id"], segment=segment,
        region=country.region, country=country.code, currency=country.currency,
        industry=industry, website=f"https://www.{domain}", owner=w.pick(w.pools.reps),
    )  # fmt: skip
    w.event(at_us, "crm", "account.created", obj)
    ctx = AccountCtx(obj, segment, country, at_us, domain, [])
    low, high = _CONTACTS[segment]
    pools = w.pools
    for n in range(w.rng.randint(low, high)):
        first, first_local = w.pick(pools.first_names)
        last, last_local = w.pick(pools.last_names)
        c_at = at_us + w.days(0, 20)
        contact = w.new("contact", min(c_at, w.as_of_us))
        email = f"{first_local}.{last_local}@{domain}"
        contact.update(
            account_id=obj["id"], first_name=first, last_name=last, email=email,
            phone=w.pick(pools.phones), title=w.pick(pools.titles), is_primary=n == 0,
        )  # fmt: skip
        ctx.emails.append(email)
        w.event(min(c_at, w.as_of_us), "crm", "contact.created", contact)
    return ctx


def make_family(w: World, remaining: int) -> list[AccountCtx]:
    """A parent account and its subsidiaries (never more than ``remaining`` accounts)."""
    rng = w.rng
    segment = _weighted(w, _SEGMENTS)
    region = _weighted(w, _REGION_WEIGHTS)
    country = w.pick(REGIONS[region])
    name, domain = w.pick(w.pools.companies)
    industry = w.pick(_INDUSTRIES)
    latest = w.as_of_us - 20 * US_PER_DAY
    at_us = w.start_us + int(rng.random() * (latest - w.start_us))
    parent = _account(w, at_us, name, domain, segment, country, None, industry)
    family = [parent]
    low, high = _SUBSIDIARIES[segment]
    for _ in range(min(rng.randint(low, high), remaining - 1)):
        sub_region = region if rng.random() < 0.5 else _weighted(w, _REGION_WEIGHTS)
        sub_country = w.pick(REGIONS[sub_region])
        sub_at = min(at_us + w.days(0, 240), latest)
        sub_segment = "mid_market" if rng.random() < 0.7 else "enterprise"
        family.append(
            _account(
                w, sub_at, f"{name} ({sub_country.code})", domain, sub_segment, sub_country,
                parent.obj, industry,
            )
        )  # fmt: skip
    return family
