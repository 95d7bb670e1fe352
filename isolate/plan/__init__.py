"""isolate.plan."""
