"""The evaluation layer (issue 26, in progress): champion vs challenger judged on fed-back outcomes."""
