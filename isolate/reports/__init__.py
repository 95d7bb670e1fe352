"""isolate.reports."""
