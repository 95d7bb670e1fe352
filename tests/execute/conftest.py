"""The end-to-end tests share e2e.py's helpers and its city-lab fixture (one lab per module)."""

from e2e import lab  # noqa: F401  (a fixture: pytest finds it here)
