"""Orders, customers, payments, shipping; the back-office home."""
