"""The five simulated systems (CRM, CPQ, billing, support, ERP) and the kit they share."""
