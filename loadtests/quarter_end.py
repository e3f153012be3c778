"""Quarter end: baseline, ramp, 10 x peak, drain, with the quote-to-cash users.

    GOLIVE_LOAD_DATA=data/ locust -f loadtests/quarter_end.py --users 200 --run-time 10m

``--users`` is the peak and ``--run-time`` the whole shape (see ``loadtests.shapes``);
where the systems are: as in ``loadtests/locustfile.py``.
"""

from loadtests.flows import (
    OrderDeskUser,
    QuotePricingUser,
    SalesRepUser,
    SupportAgentUser,
    UsageMeterUser,
)
from loadtests.shapes import QuarterEndShape

__all__ = [
    "OrderDeskUser",
    "QuarterEndShape",
    "QuotePricingUser",
    "SalesRepUser",
    "SupportAgentUser",
    "UsageMeterUser",
]
