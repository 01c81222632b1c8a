"""Plans, subscriptions, billing attempts and dunning."""
