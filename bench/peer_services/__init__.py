"""The peers' own service definitions, run inside each peer's venv (never imported by the bench)."""
