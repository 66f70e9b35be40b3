"""One router per concern: prediction, hot-swap reload, status."""
