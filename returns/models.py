"""Return models arrive with the returns process."""
