"""isolate.execute."""
