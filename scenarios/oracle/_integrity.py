"""No orphans (an object whose source is gone) and no duplicate external ids.

The sources are those of docs/sut-contract.md (the linking table). Duplicates of the
linked types are named by their own invariant (``order_per_deal`` for a second order,
and so on), so ``unique_external_id`` watches the other types: customers,
organizations, items ... wherever an external id is set.
"""

from __future__ import annotations

from scenarios.oracle._context import Ctx

__all__ = ["LINKED", "check_orphans", "check_unique"]

# object type -> (the source's type, a field that names the source besides external_id)
LINKED: dict[str, tuple[str, str | None]] = {
    "sales_order": ("opportunity", "opportunity_id"),
    "subscription": ("opportunity", None),
    "entitlement": ("subscription", "subscription_id"),
    "ar_invoice": ("invoice", None),
    "receipt": ("payment", None),
}


def check_orphans(ctx: Ctx) -> None:
    quotes = ctx.snap.by_id("quote")
    for object_type, (source_type, field) in LINKED.items():
        sources = ctx.snap.by_id(source_type)
        for obj in ctx.snap.of(object_type):
            ctx.checked("no_orphans")
            named = [obj.get("external_id"), obj.get(field) if field else None]
            if object_type == "subscription":  # one made without the link: through its quote
                named.append(quotes.get(str(obj.get("quote_id")), {}).get("opportunity_id"))
            if any(n and n in sources for n in named):
                continue
            source = next((n for n in named if n), None)
            what = f"{source_type} {source} does not exist" if source else "no source named"
            ctx.fail("no_orphans", f"{object_type} {obj['id']}: its {what}", [obj["id"]],
                     obj.get("correlation_id"))  # fmt: skip


def check_unique(ctx: Ctx) -> None:
    for object_type, objects in sorted(ctx.snap.objects.items()):
        if object_type in LINKED:
            continue
        ctx.checked("unique_external_id", len(objects))
        for external_id, found in sorted(ctx.snap.by_external_id(object_type).items()):
            if len(found) < 2:
                continue
            ids = [o["id"] for o in found]
            corr = next((o["correlation_id"] for o in found if o.get("correlation_id")), None)
            ctx.fail("unique_external_id", f"{len(found)} {object_type} objects have external "
                     f"id {external_id}: {', '.join(ids)}", ids, corr)  # fmt: skip
