"""No orphans (an object whose source is gone) and no duplicate external ids.

The sources are those of docs/sut-contract.md (the linking table). Duplicates of the
linked types are named by their own invariant (``order_per_deal`` for a second order,
and so on), so ``unique_external_id`` watches the other types: customers,
organizations, items ... wherever an external id is set.
"""

from __future__ import annotations

from scenarios.oracle._context import Ctx

__all__ = ["LINKED", "check_orphans", "check_unique"]

# object type -> (the field naming its source, the source's type)
LINKED: dict[str, tuple[str, str]] = {
    "sales_order": ("external_id", "opportunity"),
    "subscription": ("external_id", "opportunity"),
    "entitlement": ("external_id", "subscription"),
    "ar_invoice": ("external_id", "invoice"),
    "receipt": ("external_id", "payment"),
}


def check_orphans(ctx: Ctx) -> None:
    for object_type, (field, source_type) in LINKED.items():
        sources = ctx.snap.by_id(source_type)
        for obj in ctx.snap.of(object_type):
            ctx.checked("no_orphans")
            source = obj.get(field)
            if source and source in sources:
                continue
            what = f"{source_type} {source} does not exist" if source else f"no {field}"
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
