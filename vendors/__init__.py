"""Vendors, vendor users, sub-orders, payout holds and payouts; the vendor portal."""
