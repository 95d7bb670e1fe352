"""isolate.restore."""
