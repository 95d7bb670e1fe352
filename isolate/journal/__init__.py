"""isolate.journal."""
