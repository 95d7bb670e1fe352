"""What an alert becomes: an incident, then a containment (``auto``) or a question (``ask``).

One alert at a time (a lock, and ``watch/decide.lock``, which ``isolate approve`` and
``reject`` hold too): the dedup check, the hourly limit and the apply of one alert never
interleave with another's, nor with an approval in a terminal. Auto runs the same code
path as ``isolate apply --yes`` (isolate.api.plan, its guards, isolate.api.apply, journaled
with the incident id); it never overrides a guard: a refused plan, a deny-listed target or a
spent hourly budget make the incident ``pending`` with the reason, for ``isolate approve`` /
``reject``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from isolate import api
from isolate.errors import InputError, IsolateError, PlanRefused
from isolate.expiry import Fired, fire_due, run_options
from isolate.inventory.models import Inventory
from isolate.paths import state_dir_from
from isolate.plan.models import Plan
from isolate.watch.alerts import Alert
from isolate.watch.incidents import Incident, IncidentStore
from isolate.watch.recover import here
from isolate.watch.rules import Rule, Rules

log = logging.getLogger("isolate.watch")


@dataclass(frozen=True)
class Settings:
    rules: Rules
    inventory_path: Path
    state_dir: Path | None = None
    lock_dir: Path | None = None
    transport: str | None = None
    timeout_s: float = 30.0


class Watcher:
    def __init__(
        self, settings: Settings, *, on_event: Callable[[dict[str, Any]], None] | None = None
    ) -> None:
        self.settings = settings
        self.store = IncidentStore(state_dir_from(settings.state_dir), on_event=on_event)
        self._lock = threading.Lock()

    def handle(self, alert: Alert) -> dict[str, Any]:
        with self._lock, self.store.locked():  # an approve in a terminal holds it too
            return self._handle(alert)

    def _handle(self, alert: Alert) -> dict[str, Any]:
        rule = self.settings.rules.first_match(alert)
        if rule is None:
            log.info("alert from %s (%s): no rule matches; ignored", alert.source, alert.signature)
            return {"state": "ignored", "message": "no rule matches this alert"}
        values = rule.values(alert)
        targets = sorted({v for items in values.values() for v in items})
        existing = self.store.open_for(targets)
        if alert.action == "release":
            return self._release(rule, alert, existing, targets)
        if existing is not None:
            self.store.append(existing.id, "attached", alert=asdict(alert))
            log.info("incident %s: alert from %s attached (%s)", existing.id, alert.source, existing.state)
            return {"incident": existing.id, "state": existing.state, "attached": True}
        incident = self.store.new_id()
        self.store.append(
            incident, "opened", rule=rule.name, mode=rule.mode, alert=asdict(alert), targets=targets,
            playbook=str(self.settings.rules.playbook_path(rule)), parameters=values,
            inventory=str(self.settings.inventory_path.resolve()),
            **({"expires": rule.expires} if rule.expires else {}),
        )
        return self._decide(incident, rule, alert, values)

    def _decide(
        self, incident: str, rule: Rule, alert: Alert, values: dict[str, list[str]]
    ) -> dict[str, Any]:
        why = self._no_auto(rule, values)
        try:
            inventory, built = api.plan(
                self.settings.inventory_path, self.settings.rules.playbook_path(rule), parameters=values
            )
        except PlanRefused as exc:
            return self._pending(incident, f"the guards refused the plan: {exc}")
        except IsolateError as exc:
            return self._failed(incident, f"cannot plan: {exc}")
        if why:
            return self._pending(incident, why)
        reason = f"watch: rule {rule.name}: {alert.signature} from {alert.source}"
        return contain(self.store, incident, inventory, built, by="watch", reason=reason,
                       state_dir=self.settings.state_dir, lock_dir=self.settings.lock_dir,
                       transport=self.settings.transport, timeout_s=self.settings.timeout_s,
                       expires=rule.expires)

    def sweep(self) -> list[str]:
        """Restore every containment whose expiry passed (isolate.expiry); one line each."""
        with self._lock, self.store.locked():
            fired = sweep(self.store, state_dir_from(self.settings.state_dir), by="watch",
                          lock_dir=self.settings.lock_dir, transport=self.settings.transport)
        return [line_of(f) for f in fired]

    def _release(
        self, rule: Rule, alert: Alert, existing: Incident | None, targets: list[str]
    ) -> dict[str, Any]:
        """A release alert: the host's open incident is closed — its run restored through the
        ordinary staged restore (``contained``), or nothing to undo (``pending``)."""
        if existing is None:
            log.info("release alert for %s: no open incident; nothing to release", ",".join(targets))
            message = f"no open incident for {', '.join(targets)}: nothing to release"
            return {"state": "none", "message": message}
        if not rule.release:
            self.store.append(existing.id, "attached", alert=asdict(alert))
            why = f"rule {rule.name} does not let an alert release a containment (release: true)"
            if existing.state == "contained":
                why += f": isolate restore {existing.last['run']} --yes"
            return {"incident": existing.id, "state": existing.state, "attached": True, "why": why}
        if existing.state == "applying":  # an approve in a terminal is applying it right now
            self.store.append(existing.id, "attached", alert=asdict(alert))
            why = f"being applied by {existing.last.get('by')}: send the release again once it is contained"
            return {"incident": existing.id, "state": "applying", "attached": True, "why": why}
        if existing.state != "contained":  # pending: nothing was sent
            self.store.append(existing.id, "released", alert=asdict(alert), message="nothing had been sent")
            return {"incident": existing.id, "state": "released", "message": "nothing had been sent"}
        run = existing.last["run"]
        sender = alert.sensor or alert.source
        reason = f"watch: rule {rule.name}: release alert {alert.signature} from {sender}"
        try:
            result = api.restore(run, state_dir=self.settings.state_dir, lock_dir=self.settings.lock_dir,
                                 transport=self.settings.transport, reason=reason, incident=existing.id)
        except IsolateError as exc:
            message = f"release: restore of run {run} failed: {exc}; isolate restore {run} --yes once fixed"
            self.store.append(existing.id, "failed", run=run, alert=asdict(alert), message=message)
            return {"incident": existing.id, "state": "failed", "run": run, "message": message}
        back = ", ".join(result.restored) or "nothing to undo"
        message = f"run {run} restored: identical to pre-state: {back}"
        self.store.append(existing.id, "released", run=run, alert=asdict(alert), message=message)
        log.info("incident %s: released: %s", existing.id, message)
        return {"incident": existing.id, "state": "released", "run": run, "message": message}

    def _no_auto(self, rule: Rule, values: Mapping[str, Sequence[str]]) -> str:
        if rule.mode == "ask":
            return "rule mode is ask"
        denied = self.settings.rules.denied({k: list(v) for k, v in values.items()})
        if denied:
            return f"auto-mode never touches it: {denied}"
        budget = self.settings.rules.limits.auto_per_hour
        if self.store.auto_in_last_hour(time.time()) >= budget:
            return f"the limit of {budget} automatic containments per hour is reached"
        return ""

    def _pending(self, incident: str, why: str) -> dict[str, Any]:
        self.store.append(incident, "pending", why=why)
        log.info("incident %s: pending approval: %s (isolate approve %s)", incident, why, incident)
        return {"incident": incident, "state": "pending", "why": why}

    def _failed(self, incident: str, message: str) -> dict[str, Any]:
        self.store.append(incident, "failed", message=message)
        log.warning("incident %s: failed: %s", incident, message)
        return {"incident": incident, "state": "failed", "message": message}


def contain(
    store: IncidentStore,
    incident: str,
    inventory: Inventory,
    built: Plan,
    *,
    by: str,
    reason: str,
    state_dir: Path | None,
    lock_dir: Path | None,
    transport: str | None = None,
    timeout_s: float = 30.0,
    expires: str | None = None,
) -> dict[str, Any]:
    """Apply ``built`` for ``incident`` exactly as ``isolate apply --yes`` does (with
    ``--expires`` when the rule says so), and record it."""
    store.append(incident, "applying", by=by, **here())
    extra: dict[str, Any] = {"via": "watch", "by": by, **(run_options(expires) if expires else {})}
    request = api.ApplyRequest(incident=incident, reason=reason, transport=transport, timeout_s=timeout_s,
                               extra=extra)
    try:
        result = api.apply(inventory, built, request, state_dir=state_dir, lock_dir=lock_dir)
    except IsolateError as exc:
        store.append(incident, "failed", message=str(exc))
        log.warning("incident %s: apply failed: %s", incident, exc)
        return {"incident": incident, "state": "failed", "message": str(exc)}
    if result.status == "ok":
        store.append(incident, "contained", run=result.run_id)
        log.info("incident %s: contained by run %s", incident, result.run_id)
        return {"incident": incident, "state": "contained", "run": result.run_id}
    message = f"run {result.run_id} ended {result.status} (isolate restore {result.run_id} undoes it)"
    store.append(incident, "failed", run=result.run_id, message=message)
    log.warning("incident %s: %s", incident, message)
    return {"incident": incident, "state": "failed", "run": result.run_id, "message": message}


def approve(
    store: IncidentStore,
    incident: str,
    *,
    user: str,
    overrides: Sequence[api.Override] = (),
    state_dir: Path | None = None,
    lock_dir: Path | None = None,
) -> dict[str, Any]:
    """Plan the pending incident again (guards re-run; ``overrides`` as ``apply --override``)
    and contain it. Raises InputError if it is not pending, PlanRefused if the guards refuse."""
    with store.deciding(incident) as found:
        if found.state != "pending":
            raise InputError(f"incident {incident} is {found.state}, not pending: nothing to approve")
        return _approve(store, incident, found.opened, user=user, overrides=overrides,
                        state_dir=state_dir, lock_dir=lock_dir)


def _approve(
    store: IncidentStore,
    incident: str,
    opened: dict[str, Any],
    *,
    user: str,
    overrides: Sequence[api.Override],
    state_dir: Path | None,
    lock_dir: Path | None,
) -> dict[str, Any]:
    inventory, built = api.plan(
        Path(opened["inventory"]), Path(opened["playbook"]),
        parameters=opened["parameters"], overrides=overrides,
    )
    store.append(incident, "approved", by=user)
    reason = f"watch: incident {incident} approved by {user}"
    if overrides:
        reason += "; " + "; ".join(f"override {o.step}: {o.reason}" for o in overrides)
    return contain(store, incident, inventory, built, by=user, reason=reason, state_dir=state_dir,
                   lock_dir=lock_dir, expires=opened.get("expires"))


def reject(store: IncidentStore, incident: str, *, user: str, reason: str) -> dict[str, Any]:
    with store.deciding(incident) as found:
        if found.state != "pending":
            raise InputError(f"incident {incident} is {found.state}, not pending: nothing to reject")
        store.append(incident, "rejected", by=user, reason=reason)
    return {"incident": incident, "state": "rejected"}


def sweep(
    store: IncidentStore, state: Path, *, by: str, lock_dir: Path | None = None, transport: str | None = None
) -> list[Fired]:
    """Fire every due expiry (isolate.expiry.fire_due); a watch incident whose run it restored
    becomes ``expired`` (or ``failed``)."""
    known = store.load()

    def record(fired: Fired) -> None:
        if fired.incident in known:
            if fired.ok:
                store.append(fired.incident, "expired", run=fired.run_id, message=fired.message)
            else:
                store.append(fired.incident, "failed", run=fired.run_id, message=f"expiry: {fired.message}")

    return fire_due(state, by=by, lock_dir=lock_dir, transport=transport, on_fired=record)


def line_of(fired: Fired) -> str:
    incident = f" (incident {fired.incident})" if fired.incident else ""
    return f"run {fired.run_id}{incident}: expiry: {fired.message}"
