"""isolate.netlab."""
