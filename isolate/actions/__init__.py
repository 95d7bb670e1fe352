"""Actions: one module per action × platform, listed in :mod:`isolate.actions.table`."""
