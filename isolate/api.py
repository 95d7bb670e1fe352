"""plan(), apply(), restore(), status(): the layers wired together. The CLI calls only this.

Data flows one way: inventory + playbook → plan → journal → executor → drivers → devices;
restore reads the journal and feeds the same sessions and drivers.
"""

from __future__ import annotations

import functools
import os
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from isolate import __version__
from isolate.actions.table import lookup as lookup_action
from isolate.drivers.base import Session, Target
from isolate.drivers.registry import connector, identify, transport_from
from isolate.errors import InputError, IsolateError, JournalError, LockHeld, PlanError, RestoreError
from isolate.execute.events import EventSink, null_sink
from isolate.execute.executor import ApplyOptions, Executor, Narrow, Prechecks, run_plan
from isolate.execute.locks import DeviceLocks
from isolate.execute.records import RunResult
from isolate.execute.reverts import RevertOwner, cancel_run_reverts, owner_from, pending_revert_check
from isolate.execute.runner import ThreadRunner, engine_at_work
from isolate.execute.sessions import SessionPool
from isolate.execute.targets import ResolvedTargets, resolve_targets
from isolate.execute.undo import UndoEntry
from isolate.inventory.loader import load_inventory, lock_dir_path
from isolate.inventory.models import Inventory
from isolate.journal import Journal, Record, read_journal, run_id_new
from isolate.journal.reader import (
    JournalView,
    checked_artifact,
    journaled_plan_text,
    run_alive,
    run_dirs,
    unreadable,
)
from isolate.journal.records import parse_ts
from isolate.journal.schema import Excluded, Intent, RunEnd, RunStart, Verified
from isolate.journal.verify import check_chain
from isolate.paths import current_user, lock_dir_from, run_dir, state_dir_from
from isolate.plan.builder import build_plan
from isolate.plan.models import Plan
from isolate.playbook.loader import load_playbook
from isolate.restore.contained import contained
from isolate.restore.staged import RestoreResult, checked_state_reader, entries_from_records
from isolate.secrets import Scrubber
from isolate.takeover import taken_over


@dataclass(frozen=True)
class Override:
    step: str
    reason: str


def plan(
    inventory_path: Path,
    playbook_path: Path,
    *,
    overrides: Sequence[Override] = (),
    parameters: Mapping[str, Sequence[str]] | None = None,
    exclude: Mapping[str, str] | Sequence[str] = (),
    limit: Sequence[str] = (),
    baseline: Mapping[str, str] | None = None,
) -> tuple[Inventory, Plan]:
    """Load and validate both files, then build the plan (pure). Raises InputError / PlanRefused.
    ``parameters``: the incident parameters' ``--set`` values (isolate.playbook.params);
    ``exclude``/``limit``: devices left out (isolate.plan.exclude); ``baseline``: device name →
    its captured or last-known state, so flows the devices already stop are not counted."""
    from isolate.located import augment, locate_parameters

    inventory = load_inventory(inventory_path)
    playbook = load_playbook(playbook_path)
    located = locate_parameters(playbook, inventory, parameters or {}, finder(inventory))
    inventory = augment(inventory, located)
    built = build_plan(
        inventory,
        playbook,
        overrides={o.step: o.reason for o in overrides},
        parameters=parameters,
        exclude=exclude,
        limit=limit,
        baseline=baseline,
    )
    return inventory, built.model_copy(update={"located": located})


def finder(inventory: Inventory, *, timeout_s: float = 30.0) -> Callable[[str], Any]:
    """``locate(inventory, what)`` over the default transport (read-only show commands)."""
    from isolate.locate import locate

    def find(what: str) -> Any:
        return locate(
            inventory,
            what,
            targets=lambda names: dict(
                resolve_targets(inventory, names, timeout_s=timeout_s, work_dir=state_dir_from(None)).targets
            ),
            connect=connector(None),
        )

    return find


def load_saved_plan(plan_path: Path, inventory_path: Path | None = None) -> tuple[Inventory, Plan]:
    """A plan saved with ``isolate plan --out``, checked before it is applied: its content hash
    (a hand-edited plan is refused), the inventory's digest (``inventory_path``, else the path
    the plan records), and the guards, re-run by planning again from the same inputs: the result
    must be the very same plan. Raises PlanError (exit 2) or PlanRefused (exit 6)."""
    from isolate.plan.models import content_sha256, load_plan_file

    saved = load_plan_file(plan_path)
    if saved.content_sha256 is None or content_sha256(saved) != saved.content_sha256:
        raise PlanError(
            f"{plan_path}: changed after it was saved (its content hash does not match); "
            "never edit a plan by hand: plan again"
        )
    inventory = load_inventory(inventory_path or _recorded_inventory(plan_path, saved))
    if saved.inventory_sha256 != inventory.sha256:
        raise PlanError(
            f"{plan_path}: the inventory changed since this plan was made "
            f"(plan {saved.inventory_sha256[:12]}, now {inventory.sha256[:12]}); plan again"
        )
    playbook_path = Path(saved.playbook_path) if saved.playbook_path else None
    if playbook_path is None or not playbook_path.is_file():
        raise PlanError(
            f"{plan_path}: its playbook {playbook_path} is not there to re-run the guards; plan again"
        )
    current = load_playbook(playbook_path)
    if current.sha256 != saved.playbook_sha256:
        raise PlanError(
            f"{plan_path}: the playbook {playbook_path} changed since this plan was made; plan again"
        )
    from isolate.located import augment

    inventory = augment(inventory, saved.located)
    again = build_plan(
        inventory,
        current,
        overrides={f"{o.step}:{o.guard}": o.reason for o in saved.overrides},
        tool_address=saved.tool_address,
        parameters=saved.parameter_values(),
        exclude={e.device: e.reason for e in saved.excluded},
    )
    if again.model_copy(update={"located": saved.located}).to_json() != saved.to_json():
        raise PlanError(
            f"{plan_path}: is not what {playbook_path} plans on this inventory now; plan again"
        )
    return inventory, saved


def _recorded_inventory(plan_path: Path, saved: Plan) -> Path:
    recorded = Path(saved.inventory_path) if saved.inventory_path else None
    if recorded is None or not recorded.exists():
        raise InputError(
            f"{plan_path}: the inventory it records ({saved.inventory_path}) is not there: pass -i INVENTORY"
        )
    return recorded


@dataclass(frozen=True)
class ApplyRequest:
    incident: str = ""
    reason: str = ""
    workers: int = 32
    confirm_window_s: int | None = None
    check_only: bool = False
    host_key_checking: bool = True
    timeout_s: float = 30.0
    command: str = "apply"
    transport: str | None = None  # SSH transport for CLI devices: asyncssh | netmiko (registry default)
    extra: dict[str, Any] = field(default_factory=dict)


def apply(
    inventory: Inventory,
    built: Plan,
    request: ApplyRequest,
    *,
    state_dir: Path | None = None,
    lock_dir: Path | None = None,
    sink: EventSink = null_sink,
    replan: Replan | None = None,
) -> RunResult:
    """Pre-checks, then every step, journaled ahead; returns the run's typed result.
    With ``replan`` (--skip-unreachable), devices unreachable at pre-check are left out:
    ``replan(device -> reason)`` builds the plan without them (guards and blast radius
    re-checked), the run goes on with it and says what stayed open."""
    state = state_dir_from(state_dir)
    from isolate.earlier import adopted, half_made, left_on_devices

    done_before = adopted(state, built)  # re-apply converges: what an earlier run already made
    if done_before:
        kept = {f"{step}@{device}": run for (step, device), run in sorted(done_before.items())}
        request = replace(request, extra={**request.extra, "adopted": kept})
    # ... and what it left half-made is first brought back to that run's captured pre-state
    takeover = {} if request.check_only else half_made(state, built)
    if takeover:
        claims = {f"{step}@{device}": run for (step, device), (run, _) in sorted(takeover.items())}
        request = replace(request, extra={**request.extra, "taken_over": claims})
    left = left_on_devices(state)
    devices, resolved = _targets(inventory, built, request, state)
    run_id = run_id_new()
    started = time.time()
    locks = DeviceLocks.at(lock_dir, state_dir=state, site=lock_dir_path(inventory))
    with locks.acquire(devices, run_id), engine_at_work():
        journal = Journal.create(state, run_id, scrubber=Scrubber.of(resolved.secrets))
        plan_sha = journal.store_artifact("plan.json", built.to_json())
        journal.append("run-start", **_run_start(inventory, built, request, plan_sha))
        _journal_discovery(journal, built)
        executor = _executor(
            built, resolved, journal, run_id, request, sink, kept=done_before, left=left, inventory=inventory
        )
        try:
            _take_over(executor, takeover, started=started)
            narrow = _skip_unreachable(replan) if replan is not None else None
            return run_plan(executor, started=started, undo=_undo, narrow=narrow)
        finally:
            executor.close()
            journal.close()


Replan = Callable[[Mapping[str, str]], Plan]


def _take_over(
    executor: Executor, takeover: Mapping[tuple[str, str], tuple[str, UndoEntry]], *, started: float
) -> None:
    """Changes an earlier run left half-made: each device brought back to that run's captured
    pre-state (copied into this run's journal first), by the undo path resume uses. If that
    fails, this run ends ``failed`` (its run-end journaled: nothing of its own was sent) and
    the change stays the earlier run's."""
    if not takeover:
        return
    entries = [entry for _, entry in takeover.values()]
    mine = [replace(e, stage=1, pre_sha=executor.journal.store_state(e.pre_state)) for e in entries]
    back = executor.undo(mine)
    if back.ok:
        return
    executor.journal.append("run-end", status="failed", duration_s=round(time.time() - started, 6),
                            time_to_contain_s=None)
    earlier = sorted({run for run, _ in takeover.values()})
    raise RestoreError(
        f"re-apply stopped undoing what an earlier run left half-made: {back.message}; nothing else "
        f"was sent: run {executor.run_id} ended failed and the change is still run {', '.join(earlier)}'s "
        f"(fix the cause, then apply again, or isolate restore {earlier[-1]} --yes)"
    )


def _skip_unreachable(replan: Replan) -> Narrow:
    """Leave out the devices no connection reached at pre-check, if that is the only failure."""

    def narrow(ex: Executor, prechecks: Prechecks) -> tuple[Prechecks, tuple[str, ...]]:
        failed = [p for p in prechecks if not p.ok]
        if any(p.reachable for p in failed) or len(failed) == len(prechecks):
            return prechecks, ()  # another kind of failure, or nothing reachable: no run
        unreachable = {p.device: f"unreachable at pre-check: {p.message}" for p in failed}
        try:
            narrowed = replan(unreachable)
        except IsolateError as exc:
            ex.journal.append("excluded", ok=False, devices=unreachable, message=str(exc))
            return prechecks, (f"the plan without {', '.join(unreachable)} is refused: {exc}",)
        left = tuple(f"{e.device} ({e.reason}): {line}" for e in narrowed.excluded for line in e.left_open)
        before = journaled_plan_text(read_journal(ex.journal.run_dir))  # proven by run-start's digest
        ex.journal.store_artifact("plan.before-skip.json", before)
        plan_sha = ex.journal.store_artifact("plan.json", narrowed.to_json())
        ex.journal.append(
            "excluded",
            ok=True,
            devices=unreachable,
            plan_sha256=plan_sha,
            skipped=list(narrowed.skipped),
            left_open=list(left),
        )
        ex.plan = narrowed
        return tuple(p for p in prechecks if p.device not in unreachable), left

    return narrow


def _targets(
    inventory: Inventory, built: Plan, request: ApplyRequest, state: Path
) -> tuple[list[str], ResolvedTargets]:
    """Every device the plan changes, with its credentials read now (before anything is sent)."""
    devices = sorted({c.device for s in built.steps for c in s.changes})
    resolved = resolve_targets(
        inventory,
        devices,
        host_key_checking=request.host_key_checking,
        timeout_s=request.timeout_s,
        work_dir=state,
    )
    return devices, resolved


def site_connect(
    connect: Callable[[Target], Session], inventory: Inventory | None
) -> Callable[[Target], Session]:
    """``connect``, with devices that carry a ``site`` opened through that site's worker
    (isolate/sites; Celery is imported only when the inventory has a broker)."""
    if inventory is None or inventory.broker is None:
        return connect
    from isolate.sites.client import with_sites
    from isolate.sites.resolve import broker_of

    return with_sites(connect, broker_of(inventory))


def _executor(
    built: Plan,
    resolved: ResolvedTargets,
    journal: Journal,
    run_id: str,
    request: ApplyRequest,
    sink: EventSink,
    *,
    kept: Mapping[tuple[str, str], str] | None = None,
    left: list[Any] | None = None,
    inventory: Inventory | None = None,
) -> Executor:
    from isolate.earlier import naming_lookup

    return Executor(
        built,
        resolved.targets,
        journal,
        run_id=run_id,
        connect=site_connect(connector(request.transport), inventory),
        lookup=naming_lookup(lookup_action, left or []),
        identify=_located_check(
            built, pending_revert_check(identify, _revert_owner(journal.run_dir.parent.parent))
        ),
        sink=sink,
        kept=kept,
        options=ApplyOptions(request.workers, request.confirm_window_s, request.check_only),
        runner=ThreadRunner(request.workers),
        scrub=journal.scrubber.scrub,
    )


def _located_check(built: Plan, identify: Any) -> Any:
    """``identify`` extended: a switch port that holds a host located at plan time must still
    hold its MAC (isolate.located.port_check); else the pre-check fails naming the new port."""
    if not built.located:
        return identify
    from isolate.located import port_check

    check = port_check(built.located, lambda what: _find_now(built, what))

    def checked(session: Any) -> str | None:
        problem = identify(session)
        if problem is not None:
            return problem if isinstance(problem, str) else None
        problems = check(session.target.name, session)
        return "; ".join(problems) if problems else None

    return checked


def _find_now(built: Plan, what: str) -> Any:
    inventory = load_inventory(Path(built.inventory_path or ""))
    return finder(inventory)(what)


def _journal_discovery(journal: Journal, built: Plan) -> None:
    """Each host located at plan time: one ``discovery`` record, queries and answers."""
    for entry in built.located:
        journal.append(
            "discovery",
            parameter=entry.parameter,
            value=entry.value,
            host=entry.host,
            mac=entry.mac,
            device=entry.device,
            interface=entry.interface,
            vlan=entry.vlan,
            queries=[
                {"device": d, "command": c, "ok": ok, "output": out} for d, c, ok, out in entry.queries
            ],
        )


def _run_start(inventory: Inventory, built: Plan, request: ApplyRequest, plan_sha: str) -> dict[str, Any]:

    return {
        "user": current_user(),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "command": request.command,
        "incident": request.incident,
        "reason": request.reason,
        "tool_version": __version__,
        "inventory": {"path": str(Path(inventory.source_path or "").resolve()), "sha256": inventory.sha256},
        "playbook": {"path": built.playbook_path, "name": built.playbook, "sha256": built.playbook_sha256},
        "plan_sha256": plan_sha,
        "overrides": [o.model_dump(mode="json") for o in built.overrides],
        "options": {
            "parameters": {p.name: list(p.given) for p in built.parameters},
            "workers": request.workers,
            "confirm_window_s": request.confirm_window_s,
            "check": request.check_only,
            "host_key_checking": request.host_key_checking,
            "timeout_s": request.timeout_s,
            "transport": transport_from(request.transport),
            **request.extra,
        },
    }


def _undo(executor: Executor, done: list[tuple[int, str]]) -> bool:
    """A rollback policy's undo work, on the executor that did the apply work."""
    entries = [executor.entries[key] for key in done if key in executor.entries]
    return executor.undo([replace(e, stage=1) for e in entries]).ok


def _cancel_reverts(pool: SessionPool, journal: Journal, run_id: str, devices: list[str], what: str) -> None:
    """Before a resume or restore touches a device: the crashed run's device-side reverts
    are cancelled and proven gone, or the command stops (docs/journal.md, "Revert timers")."""
    problems = cancel_run_reverts(pool, journal, run_id, journal.records, devices=devices)
    if problems:
        raise RestoreError(f"{what} stopped: {problems[0]}")


def _revert_owner(state: Path) -> RevertOwner:
    def runs() -> list[tuple[Path, tuple[Record, ...]]]:
        paths = sorted((state / "runs").glob("*/journal.jsonl"), reverse=True)
        return [(p, read_journal(p).records) for p in paths]

    return owner_from(runs, str(state))


# -- restore -------------------------------------------------------------------------------------


def resolve_run(run: str | None, state_dir: Path | None) -> Path:
    """A run id, a run directory, a journal path, or None/'last' for the newest run."""
    state = state_dir_from(state_dir)
    if run and Path(run).is_dir():
        return Path(run)
    if run and Path(run).is_file():
        return Path(run).parent
    if run and run != "last":
        candidate = run_dir(state, run)
        if not candidate.is_dir():
            raise InputError(f"no run {run!r} in {state / 'runs'}")
        return candidate
    runs = sorted(p for p in (state / "runs").glob("*") if p.is_dir()) if (state / "runs").is_dir() else []
    if not runs:
        raise InputError(f"no runs in {state / 'runs'}")
    return runs[-1]


@dataclass(frozen=True)
class RestorePlan:
    run_id: str
    run_dir: Path
    entries: tuple[UndoEntry, ...]

    @property
    def stages(self) -> list[int]:
        return sorted({e.stage for e in self.entries})


def plan_restore(run_path: Path) -> RestorePlan:
    """What restoring ``run_path`` would undo, from its journal; every captured pre-state is
    read through its hash (JournalError, exit 7, if one is missing or altered)."""
    view = read_journal(run_path / "journal.jsonl")
    unchanged(run_path, view)  # what a restore would send comes from these records
    entries = entries_from_records(view, checked_state_reader(view))
    taken = taken_over(run_path) if entries else set()  # a later re-apply took them over
    return RestorePlan(run_path.name, run_path, tuple(e for e in entries if (e.device, e.step) not in taken))


def unchanged(run_path: Path, view: JournalView | None = None) -> None:
    """JournalError (exit 7) unless every whole record of the run's journal still chains: a
    restore, or its dry run, takes the inverses it shows and sends from these records."""
    view = view or read_journal(run_path / "journal.jsonl")
    if not view.records:  # a run killed before its first whole record: nothing to show or send
        return
    _, bad = check_chain(view.source)
    if bad is not None:
        raise JournalError(
            f"{run_path / 'journal.jsonl'}: {bad.describe(view.source.name)}: the journal was changed "
            f"after it was written, its inverses cannot be trusted; nothing was sent (check it: isolate "
            f"journal verify {run_path.name})"
        )


def _journaled_start(run_path: Path) -> RunStart | None:
    """The run-start record's data, or None when the run died before writing it whole."""
    return read_journal(run_path / "journal.jsonl").run_start()


def release_stale_locks(run_id: str, *, state_dir: Path | None = None, lock_dir: Path | None = None) -> str:
    """Release the device locks run ``run_id``'s dead processes left (a restore killed after
    its last record, say); returns a sentence for the operator, empty when there were none."""
    state = state_dir_from(state_dir)
    released = DeviceLocks.at(lock_dir, state_dir=state).release_stale_of_run(run_id)
    if not released:
        return ""
    return f"released run {run_id}'s stale locks on {', '.join(lock.device for lock in released)}"


def _nothing_written(run_path: Path, state: Path, lock_dir: Path | None) -> str:
    """A run that died before its first record sent nothing: release its stale device locks
    (refusing while its process lives) and say so."""
    locks = DeviceLocks.at(lock_dir, state_dir=state)
    live = [lock for lock in locks.held() if lock.run == run_path.name and not lock.stale]
    if live:
        raise LockHeld(live[0].describe())
    released = locks.release_stale_of_run(run_path.name)
    freed = f"; released its stale locks on {', '.join(lock.device for lock in released)}" if released else ""
    return (
        f"run {run_path.name} died before its first journal record was written whole: "
        f"nothing was sent to any device, nothing to restore{freed}"
    )


def restore(
    run: str | None,
    *,
    state_dir: Path | None = None,
    inventory_path: Path | None = None,
    only_stage: int | None = None,
    workers: int = 32,
    host_key_checking: bool = True,
    timeout_s: float = 30.0,
    transport: str | None = None,
    lock_dir: Path | None = None,
    sink: EventSink = null_sink,
    reason: str = "",
    incident: str = "",
) -> RestoreResult:
    """Undo a run stage by stage from its journal; every gate reads the devices back.
    ``reason`` and ``incident`` (why, and under which reference) go into restore-start."""
    why, reference = _text_option("--reason", reason), _text_option("--incident", incident)
    state = state_dir_from(state_dir)
    run_path = resolve_run(run, state_dir)
    start = _journaled_start(run_path)
    if start is None:
        return RestoreResult(True, (), (), (), message=_nothing_written(run_path, state, lock_dir))
    restore_plan = plan_restore(run_path)
    inv_path = inventory_path or Path(start.inventory.path)
    inventory = load_inventory(inv_path)
    devices = sorted({e.device for e in restore_plan.entries})
    resolved = resolve_targets(
        inventory, devices, host_key_checking=host_key_checking, timeout_s=timeout_s, work_dir=state
    )
    run_id = restore_plan.run_id
    locks = DeviceLocks.at(lock_dir, state_dir=state, site=lock_dir_path(inventory))
    with locks.acquire(devices, run_id) as held, engine_at_work():
        # A crash may have torn the last line and left intents without an outcome: both are
        # recorded (torn-tail, failed/interrupted) before restore appends anything else.
        journal = Journal.open(run_path, scrubber=Scrubber.of(resolved.secrets), recover_torn=True)
        try:
            journal.close_pending()
            journal.append(
                "restore-start",
                stages=restore_plan.stages,
                only_stage=only_stage,
                reason=why,
                incident=reference,
                host_key_checking=host_key_checking,
                user=current_user(),
                host=socket.gethostname(),
                pid=os.getpid(),
                adopted_locks=[lock.describe() for lock in held.adopted],
            )
            connect = site_connect(connector(transport), inventory)
            executor = Executor.for_undo(
                resolved.targets, journal, run_id=run_id, connect=connect, workers=workers, sink=sink,
                scrub=journal.scrubber.scrub,
            )  # fmt: skip
            try:
                _cancel_reverts(executor.pool, journal, run_id, devices, "restore")
                result = executor.undo(restore_plan.entries, only_stage=only_stage)
            finally:
                executor.close()
            journal.append("restore-end", ok=result.ok, message=result.message)
            if result.ok:
                released = locks.release_stale_of_run(run_id)
                if released:
                    journal.append("locks-released", locks=[lock.describe() for lock in released])
        finally:
            journal.close()
    if not result.ok:
        raise RestoreError(result.message)
    return result


def _text_option(option: str, value: str) -> str:
    from isolate.values import BadValue, parse_text

    try:
        return parse_text(value)
    except BadValue as exc:
        raise InputError(f"{option}: {exc}") from None


# -- status --------------------------------------------------------------------------------------


def status(*, state_dir: Path | None = None, lock_dir: Path | None = None) -> dict[str, Any]:
    """What is contained now: every run with changes not yet restored, per device, and locks.
    A run whose journal cannot be read (a record that does not fit its model) is listed under
    ``bad_runs`` with the one-line reason, and every other run is still reported."""
    state = state_dir_from(state_dir)
    runs_root = state / "runs"
    contained_runs: list[dict[str, Any]] = []
    bad_runs: list[dict[str, str]] = []
    runs = 0
    for run_path in sorted(runs_root.glob("*")) if runs_root.is_dir() else []:
        journal_path = run_path / "journal.jsonl"
        if not journal_path.is_file():
            continue
        runs += 1
        try:
            view = read_journal(journal_path)
        except JournalError as exc:
            bad_runs.append({"run": run_path.name, "problem": unreadable(run_path, exc)})
            continue
        try:
            view.check_models()
            row = _contained_run(run_path, view)
        except JournalError as exc:
            bad_runs.append({"run": run_path.name, "problem": str(exc)})
            continue
        if row is not None:
            contained_runs.append(row)
    locks = [lock.describe() for lock in DeviceLocks.at(lock_dir).held()]
    return {
        "state_dir": str(state),
        "lock_dir": str(lock_dir_from(lock_dir)),
        "runs": runs,
        "contained": contained_runs,
        "bad_runs": bad_runs,
        "locks": locks,
    }


def _contained_run(run_path: Path, view: JournalView) -> dict[str, Any] | None:
    """The run's ``status`` entry, or None when it holds nothing unrestored."""
    if not view.records:
        return None
    held = contained(view, functools.partial(taken_over, run_path, skip_unreadable=True))
    alive = not held.ended and run_alive(run_path)
    waiting: list[dict[str, str]] = []
    unknown = ""  # the interrupted run's plan could not be read: what it never began is unknown
    if not held.ended and not alive:
        try:
            waiting = _not_started(run_path, view)
        except JournalError as exc:
            unknown = str(exc)
    if not held.rows and not waiting and not unknown:
        return None
    dead = ("interrupted (no run-end: its process was stopped or died; "
            "isolate apply --resume or isolate restore)")
    row: dict[str, Any] = {
        "run": run_path.name,
        "playbook": held.playbook,
        "incident": held.incident,
        "status": held.ended or ("open (its process is running)" if alive else dead),
        "devices": list(held.rows),
    }
    if waiting:  # an interrupted run's changes never begun: the containment is not whole
        row["not_started"] = waiting
    if unknown:
        row["not_started_unknown"] = unknown
    left = _left_open(view)
    if left:  # --skip-unreachable left these out and no retry has done them since
        row["left_open"] = left
    if held.armed:  # --confirm-window reverts the journal never saw confirmed nor cancelled
        row["reverts"] = held.reverts_note(run_path.name, alive=alive, now=time.time())
    return row



def _not_started(run_path: Path, view: JournalView) -> list[dict[str, str]]:
    """The changes of an interrupted run's plan it never began (no intent for the step and
    device): what a resume would still send. None for a check, or once a restore began (the
    admin chose to undo rather than finish)."""
    start = view.run_start()
    if start is None or start.options.check or any(r.kind == "restore-start" for r in view.records):
        return []
    begun = {(data.step, data.device) for _, data in view.of_kind(Intent)}
    built = _journaled_plan(run_path, view)
    return [
        {"step": step.id, "device": change.device}
        for step in built.steps
        for change in step.changes
        if (step.id, change.device) not in begun
    ]


def _left_open(view: JournalView) -> list[str]:
    """What the run's last ``excluded`` record says stayed open (devices --skip-unreachable
    left out, each with what it did not get), less the devices the run has changed since (a
    --retry-failed that reached them)."""
    found: tuple[int, Excluded] | None = None
    for record, excluded in view.of_kind(Excluded):
        if excluded.ok:
            found = (record.seq, excluded)
    if found is None:
        return []
    seq, excluded = found
    reached = {data.device for record, data in view.of_kind(Intent) if record.seq > seq}
    return [line for line in excluded.left_open if line.split(" ", 1)[0] not in reached]


# -- resume --------------------------------------------------------------------------------------


def _last_to_go_on(state: Path, retry_failed: bool) -> Path:
    """``last`` for a resume: the newest run a resume can go on with (no run-end; for
    --retry-failed, also one ended partial, aborted or failed; never restored), not merely the newest:
    a check or a look made after the crash must not hide it. The newest run when none fits
    (its own error then says why)."""
    newest = resolve_run("last", state)
    for path in reversed(run_dirs(state)):
        try:
            view = read_journal(path / "journal.jsonl")
        except JournalError:
            continue
        start = view.run_start()
        if start is None or start.options.check or any(r.kind == "restore-start" for r in view.records):
            continue
        ends = [end.status for _, end in view.of_kind(RunEnd)]
        if not ends or (retry_failed and ends[-1] in ("partial", "aborted", "failed")):
            return path
    return newest


def _whole_plan(run_path: Path, view: JournalView) -> Plan:
    """The plan as the run started, before --skip-unreachable left devices out (its
    ``plan.before-skip.json``, proven by run-start's digest): what --retry-failed finishes,
    the devices left out included. The journaled plan when nothing was left out."""
    start = view.run_start()
    narrowed = any(e.plan_sha256 for _, e in view.of_kind(Excluded))
    if start is None or not narrowed:
        return _journaled_plan(run_path, view)
    name = "plan.before-skip.json"
    text = checked_artifact(run_path, name, start.plan_sha256, where="run-start (seq 0)")
    return _plan_of(run_path / name, text)


def _journaled_plan(run_path: Path, view: JournalView) -> Plan:
    """The plan a run executes, proven by the digest its journal holds (the run-start's, or
    the last ``excluded`` record's when --skip-unreachable narrowed it)."""
    return _plan_of(run_path / "plan.json", journaled_plan_text(view))


def _plan_of(path: Path, text: str) -> Plan:
    """A run artifact's text (already proven by its digest) as a Plan; JournalError naming
    ``path`` when it is not one."""
    try:
        return Plan.model_validate_json(text)
    except ValueError as exc:
        raise JournalError(f"{path}: not a plan: {str(exc).splitlines()[0]}") from None


def resume(
    run: str | None,
    request: ApplyRequest,
    *,
    state_dir: Path | None = None,
    inventory_path: Path | None = None,
    lock_dir: Path | None = None,
    sink: EventSink = null_sink,
    retry_failed: bool = False,
) -> RunResult:
    """Continue a run whose process died, from its journal and its saved plan.

    ``retry_failed`` (``apply --retry-failed RUN``): the run ended (partial, aborted) and is
    continued the same way: what it verified is kept (once read back on its device at the
    pre-check; a change no longer there is made again), each change that failed is first brought
    back to its captured pre-state, then done again; devices it never reached are done too.

    Changes verified before the crash are kept, once read back on their devices at the
    pre-check (a change no longer there is made again). A change whose outcome the crash left
    unknown is first brought back to the state captured before it (its journaled inverse,
    proven by read-back), then the step is done again like any other: no inverse is ever
    computed from a half-changed device.
    """

    state = state_dir_from(state_dir)
    run_path = _last_to_go_on(state, retry_failed) if run in (None, "last") else resolve_run(run, state_dir)
    view = read_journal(run_path / "journal.jsonl")
    start = view.run_start()
    if start is not None and start.options.check:  # it changed nothing: going on would be a new containment
        raise InputError(
            f"run {run_path.name} was a check (apply --check): it was to change nothing, so there is "
            "nothing to resume or retry; to contain, apply the playbook (without --check)"
        )
    ended = [end for _, end in view.of_kind(RunEnd)]
    if ended and not retry_failed:
        raise InputError(
            f"run {run_path.name} ended; nothing to resume (see isolate status, isolate restore; "
            f"isolate apply --retry-failed {run_path.name} redoes its failed devices)"
        )
    if retry_failed and any(r.kind == "restore-start" for r in view.records):
        raise InputError(f"run {run_path.name} was restored: nothing to retry; apply the playbook again")
    if retry_failed and ended and ended[-1].status in ("ok", "checked"):
        raise InputError(f"run {run_path.name} ended {ended[-1].status}: no failed device to retry")
    if start is None:
        nothing = _nothing_written(run_path, state, lock_dir)
        raise InputError(f"{nothing}; nothing to resume: run isolate apply again")
    if request.confirm_window_s is None and start.options.confirm_window_s:  # its safety net, kept
        request = replace(request, confirm_window_s=start.options.confirm_window_s)
    inventory = load_inventory(inventory_path or Path(start.inventory.path))
    built = _whole_plan(run_path, view) if retry_failed else _journaled_plan(run_path, view)
    done = frozenset((v.step, v.device) for _, v in view.of_kind(Verified) if v.ok)
    devices, resolved = _targets(inventory, built, request, state)
    run_id = run_path.name
    # the run's time (its end's duration, its time to contain) counts from its start, not from
    # this resume: the containment took all of it
    started = parse_ts(view.records[0].ts).timestamp()
    locks = DeviceLocks.at(lock_dir, state_dir=state, site=lock_dir_path(inventory))
    with locks.acquire(devices, run_id) as held, engine_at_work():
        journal = Journal.open(run_path, scrubber=Scrubber.of(resolved.secrets), recover_torn=True)
        journal.close_pending()
        journal.append(
            "resume-start",
            host_key_checking=request.host_key_checking,
            user=current_user(),
            host=socket.gethostname(),
            pid=os.getpid(),
            done=[f"{step}@{device}" for step, device in sorted(done)],
            adopted_locks=[lock.describe() for lock in held.adopted],
        )
        executor = _executor(
            built, resolved, journal, run_id, request, sink, inventory=inventory,
            kept=dict.fromkeys(done, run_id),  # read back at pre-check: a change gone is made again
        )  # fmt: skip
        try:
            _cancel_reverts(executor.pool, journal, run_id, devices, "resume")
            unknown = [e for e in plan_restore(run_path).entries if (e.step, e.device) not in done]
            if unknown:
                back = executor.undo([replace(e, stage=1) for e in unknown])
                if not back.ok:
                    raise RestoreError(f"resume stopped: {back.message}")
            return run_plan(executor, started=started, undo=_undo)
        finally:
            executor.close()
            journal.close()
