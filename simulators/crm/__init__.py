"""CRM simulator (Salesforce-like): accounts, contacts, opportunities."""
