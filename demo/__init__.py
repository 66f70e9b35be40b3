"""`./mlops demo`: the one-commit flow on a throwaway platform, with its injected faults.

It sits above the launcher and may use every package; nothing in the product imports it.
"""
