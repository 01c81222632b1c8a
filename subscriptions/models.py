"""Subscription models arrive with the renewal process."""
