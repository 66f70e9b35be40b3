"""`python -m mlops_platform.reference`: regenerate docs/reference/ from the code."""

from mlops_platform.reference import write

for path in write():
    print(f"wrote {path.relative_to(path.parents[2])}")
