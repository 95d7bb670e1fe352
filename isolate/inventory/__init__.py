"""isolate.inventory."""
