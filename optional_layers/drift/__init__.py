"""Drift: live inputs and predictions tested against each version's reference profile."""
