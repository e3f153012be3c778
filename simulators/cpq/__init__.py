"""CPQ simulator: products, price books and server-priced quotes with approvals."""
