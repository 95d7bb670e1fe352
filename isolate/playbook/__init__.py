"""isolate.playbook."""
