"""isolate watch: alerts in by webhook, rules to a playbook, pre-approved or asked containment.

alerts (shapes in, pure) → rules (YAML, pure match) → service (limits, plan, guards, apply
through isolate.api) → incidents (append-only, fsynced); server is the HTTP intake (aiohttp).
See docs/watch.md.
"""
