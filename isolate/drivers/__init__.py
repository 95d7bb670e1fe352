"""Platform drivers: how isolate speaks to one kind of device. Imports nothing from plan/journal/execute."""
