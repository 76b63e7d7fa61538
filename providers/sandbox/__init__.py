"""Local simulators of the providers' APIs (for `--sandbox` and tests)."""
