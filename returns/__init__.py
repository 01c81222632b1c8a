"""Return requests, fraud scoring, inspection, refunds and store credit."""
