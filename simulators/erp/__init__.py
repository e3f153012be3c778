"""Cloud ERP simulator (NetSuite/S/4-like): customers, items, order to cash, the ledger."""
