"""The evaluation layer: predictions logged, outcomes fed back, champion vs challenger judged."""
