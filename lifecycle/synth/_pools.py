"""Human-facing values (names, companies, phones, titles) drawn once per run from Faker.

Seeded Faker costs 10-100 microseconds a value; the generator needs millions of them.
So each run builds small pools from ``fake.seed_instance(seed)`` with
``use_weighting=False`` and indexes them with the run's seeded random stream.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

__all__ = ["Pools", "build_pools"]

_COMPANIES = 3_000
_NAMES = 800
_SMALL = 300
_SLUG = re.compile(r"[^a-z0-9]+")


def _ascii(text: str) -> str:
    """Lower-case ASCII letters and digits of ``text`` (José -> jose), for emails and domains."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _SLUG.sub("", plain.lower())


@dataclass(frozen=True)
class Pools:
    """Per-run pools; ``companies`` pairs a name with an ASCII domain."""

    companies: tuple[tuple[str, str], ...]
    first_names: tuple[tuple[str, str], ...]  # (name, ascii local part)
    last_names: tuple[tuple[str, str], ...]
    phones: tuple[str, ...]
    titles: tuple[str, ...]
    reps: tuple[str, ...]
    managers: tuple[str, ...]
    sentences: tuple[str, ...]
    paragraphs: tuple[str, ...]


def build_pools(seed: int, locales: list[str]) -> Pools:
    """Pools of Faker values for ``locales``; the same seed and locales give the same pools."""
    from faker import Faker  # heavy: imported only when a run starts

    fake = Faker(locales, use_weighting=False)
    fake.seed_instance(seed)
    companies: list[tuple[str, str]] = []
    seen: set[str] = set()
    for _ in range(_COMPANIES * 2):
        name = fake.company()
        if name in seen:
            continue
        seen.add(name)
        slug = _ascii(name)[:30] or _ascii(fake.domain_word()) or "company"
        companies.append((name, f"{slug}.{fake.tld()}"))
        if len(companies) == _COMPANIES:
            break

    def names(kind: str) -> tuple[tuple[str, str], ...]:
        out = []
        for i in range(_NAMES):
            value = getattr(fake, kind)()
            out.append((value, _ascii(value) or f"user{i}"))
        return tuple(out)

    firsts = names("first_name")
    lasts = names("last_name")
    people = [f"{fake.first_name()} {fake.last_name()}" for _ in range(60)]
    return Pools(
        companies=tuple(companies),
        first_names=firsts,
        last_names=lasts,
        phones=tuple(fake.phone_number() for _ in range(_NAMES)),
        titles=tuple(fake.job() for _ in range(_SMALL)),
        reps=tuple(people[:45]),
        managers=tuple(people[45:]),
        sentences=tuple(fake.sentence(nb_words=6).rstrip(".") for _ in range(_SMALL)),
        paragraphs=tuple(fake.paragraph(nb_sentences=3) for _ in range(_SMALL)),
    )
