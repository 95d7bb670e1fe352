from isolate.cli import entry

entry()
