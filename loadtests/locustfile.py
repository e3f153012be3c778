"""The quote-to-cash users at a steady load (``--users``, ``--spawn-rate``), no shape.

    GOLIVE_LOAD_DATA=data/ locust -f loadtests/locustfile.py --host http://127.0.0.1:8101

``--host`` names the CRM; the other systems are the simulators on the next ports, or
whatever ``GOLIVE_CPQ_URL``, ``GOLIVE_BILLING_URL``, ``GOLIVE_SUPPORT_URL`` and
``GOLIVE_ERP_URL`` say. ``python loadtests/locustfile.py`` runs one sales rep, for debugging.
"""

from loadtests.flows import (
    OrderDeskUser,
    QuotePricingUser,
    SalesRepUser,
    SupportAgentUser,
    UsageMeterUser,
)

__all__ = [
    "OrderDeskUser",
    "QuotePricingUser",
    "SalesRepUser",
    "SupportAgentUser",
    "UsageMeterUser",
]

if __name__ == "__main__":
    from locust import run_single_user

    run_single_user(SalesRepUser)
