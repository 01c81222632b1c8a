"""What every Orderly app shares: the application error and its one HTTP mapping, the actor and
history helpers, the webhook inbox and customer notifications."""
