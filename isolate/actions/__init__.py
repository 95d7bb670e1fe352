"""isolate.actions."""
