"""One tool's run of the containment benchmark, in its own process (for its peak RSS).

    python benchmarks/containment_tools.py TOOL --work WORK.json [options]

TOOL: ``isolate-apply`` (plan, then the full apply: pre-checks, journal with fsync,
push, read-back verification), ``isolate-restore`` (restore that run from its journal),
``floor`` (asyncssh, one connection per device, the lines in one batch, all at once),
``wire`` (isolate's round trips and nothing else: asyncssh, the same reads and writes isolate
makes on a Cisco IOS switch, each answer read to its prompt; no journal, no checks),
``nornir`` (threaded runner, ``netmiko_send_config``), ``scrapli`` (scrapli's async
``Cli`` over its libssh2 transport, ``send_inputs_async`` in configuration mode, ``--workers``
devices at a time), ``ansible`` (ansible-runner, network_cli, ``ansible.netcommon.cli_config``).
WORK.json (written by containment.py) holds the devices, their address and port, the lines
each must get, and the lab's credentials. Prints one JSON object on its last stdout line:
``wall_s`` (the work only, imports and start-up excluded) and what was done.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import re
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

Work = dict[str, Any]
CONTEXTS = ("interface ", "vlan ", "ip access-list ", "router ", "line ", "archive")


def _isolate_apply(work: Work, ns: argparse.Namespace) -> dict[str, Any]:
    from isolate import api
    from isolate.journal import writer

    if ns.no_fsync:  # the journal's cost: the same run with fsync and syncfs no-ops in this process
        os.fsync = lambda fd: None
        writer._syncfs = lambda fd: None  # the group commit's sync of the captured states

    started = time.perf_counter()
    inventory, built = api.plan(Path(work["inventory"]), Path(work["playbook"]))
    planned = time.perf_counter()
    request = api.ApplyRequest(workers=ns.workers, timeout_s=120.0, command="benchmark",
                               transport=ns.transport)
    result = api.apply(inventory, built, request, state_dir=Path(ns.state_dir))
    done = time.perf_counter()
    failed = [p.device for p in result.prechecks if not p.ok]
    failed += [d.device for s in result.steps for d in s.devices if not d.ok]
    return {"wall_s": done - planned, "plan_s": planned - started, "status": result.status,
            "run": result.run_id, "time_to_contain_s": result.time_to_contain_s,
            "failed": sorted(set(failed))[:20]}


def _isolate_restore(work: Work, ns: argparse.Namespace) -> dict[str, Any]:
    from isolate import api
    from isolate.errors import IsolateError

    started = time.perf_counter()
    try:
        result = api.restore(ns.run, state_dir=Path(ns.state_dir), workers=ns.workers, timeout_s=120.0,
                             transport=ns.transport)
        ok, message = result.ok, result.message
    except IsolateError as err:
        ok, message = False, str(err)
    return {"wall_s": time.perf_counter() - started, "status": "ok" if ok else "failed",
            "message": message[:300], "failed": []}


async def _floor_one(device: dict[str, Any], work: Work) -> str | None:
    import asyncssh

    from isolate.drivers.asyncssh_cli import ENCRYPTION  # the floor gets the same cipher choice

    script = "\n".join(["enable", work["enable"], "configure terminal", *device["lines"], "end", "exit", ""])
    try:
        async with asyncssh.connect(work["host"], device["port"], username=work["username"],
                                    password=work["password"], known_hosts=None, config=[],
                                    client_keys=None, agent_path=None,
                                    encryption_algs=ENCRYPTION) as conn:
            process = await conn.create_process(term_type="vt100", encoding="utf-8")
            process.stdin.write(script)
            output = await asyncio.wait_for(process.stdout.read(), 120)
    except (OSError, asyncssh.Error, TimeoutError) as err:
        return f"{device['name']}: {type(err).__name__}: {err}"  # a timeout's str() is empty
    return f"{device['name']}: % in output" if "\n%" in output.replace("\r", "") else None


def _all_at_once(one: Callable[[dict[str, Any], Work], Awaitable[str | None]], work: Work) -> dict[str, Any]:
    """``one`` for every device at once on one event loop; each returns its problem or None."""
    async def run_all() -> list[str | None]:
        return list(await asyncio.gather(*(one(d, work) for d in work["devices"])))

    started = time.perf_counter()
    problems = asyncio.run(run_all())
    return {"wall_s": time.perf_counter() - started, "failed": [p for p in problems if p][:20],
            "status": "ok" if not any(problems) else "failed"}


def _floor(work: Work, ns: argparse.Namespace) -> dict[str, Any]:
    return _all_at_once(_floor_one, work)


class _Shell:
    """One PTY shell: write lines, read until as many prompts as lines have come."""

    def __init__(self, process: Any) -> None:
        self.process, self.buffer = process, ""
        self.prompt: re.Pattern[str] | None = None  # the device's, once its first prompt is read
        self.output: list[str] = []

    async def answers(self, lines: list[str], until: re.Pattern[str] | None = None) -> str:
        """Send ``lines`` in one write; the text up to the prompt that ends the last answer
        (a prompt per line, as isolate reads them: the last at the end of the text). The
        prompts are counted only once the text ends with one."""
        until = until or self.prompt
        assert until is not None
        at_end = re.compile(rf"(?:{until.pattern})[ \t]*$")  # re's cache: compiled once
        self.process.stdin.write("\n".join(lines) + "\n")
        while True:
            if at_end.search(self.buffer[-600:]) and len(until.findall(self.buffer)) >= len(lines):
                text, self.buffer = self.buffer, ""
                self.output.append(text)
                return text
            chunk = await self.process.stdout.read(65536)
            if not chunk:
                raise EOFError(f"the device closed the session (after {self.buffer[-80:]!r})")
            self.buffer += chunk


async def _wire_one(device: dict[str, Any], work: Work) -> str | None:
    """isolate's exchanges with one Cisco IOS switch, from its platform record: the first
    prompt, escalation and the secret; the preparation and the pre-check's reads (identity,
    pending-revert probe, state) in one write; configuration mode; the lines in writes cut at
    its mode boundaries, the last with the exit line and the verification's state reads
    (docs/benchmarks.md, "Round trips")."""
    import asyncssh

    from isolate.drivers.asyncssh_cli import ENCRYPTION, PREFERRED_AUTH
    from isolate.drivers.cli import FIRST_PROMPT, PASSWORD_PROMPT
    from isolate.platforms import PLATFORMS, precheck_reads, state_reads

    dialect = PLATFORMS["cisco_ios"].dialect
    assert dialect is not None and dialect.escalate is not None
    checks, reads = list(precheck_reads("cisco_ios")), list(state_reads("cisco_ios"))
    writes = dialect.writes(device["lines"])  # as isolate cuts them; the last ends with the exit line
    writes[-1] += reads
    try:
        async with asyncssh.connect(work["host"], device["port"], username=work["username"],
                                    password=work["password"], known_hosts=None, config=[],
                                    client_keys=None, agent_path=None, preferred_auth=PREFERRED_AUTH,
                                    encryption_algs=ENCRYPTION) as conn:
            process = await conn.create_process(term_type="vt100", term_size=(511, 24), encoding="utf-8")
            shell = _Shell(process)
            while not FIRST_PROMPT.search(shell.buffer):
                shell.buffer += await asyncio.wait_for(process.stdout.read(65536), 120)
            first = shell.buffer.rstrip().rsplit("\n", 1)[-1].strip()
            shell.buffer = ""
            shell.prompt = re.compile(rf"(?:^|\n){re.escape(first[:-1])}(?:\([^)\r\n]*\))?[>#]")
            login: list[list[str]] = []
            if first.endswith(dialect.user_prompt):
                await asyncio.wait_for(shell.answers([dialect.escalate], PASSWORD_PROMPT), 120)
                login = [[work["enable"]]]
            for lines in (*login, [*dialect.prepare, *checks], [dialect.config_enter], *writes):
                await asyncio.wait_for(shell.answers(lines), 120)
    except (OSError, asyncssh.Error, TimeoutError, EOFError) as err:
        return f"{device['name']}: {type(err).__name__}: {err}"
    # the answers to the configuration lines: from `configure terminal` to the verification's
    # reads (the probes' answers may start with % too: "%No Rollback Confirmed Change pending")
    pushed = "".join(shell.output[-len(writes) - 1 :]).replace("\r", "")
    pushed = pushed.split(f"#{dialect.config_exit}\n", 1)[0]
    return f"{device['name']}: % in output" if "\n%" in pushed else None


def _wire(work: Work, ns: argparse.Namespace) -> dict[str, Any]:
    return _all_at_once(_wire_one, work)


@contextlib.contextmanager
def long_collections(started: float, over_s: float = 1.0) -> Iterator[list[dict[str, float]]]:
    """This process's generation-2 collections that pause it longer than ``over_s`` while the
    block runs: when (s after ``started``), its threads then, the pause. A collection holds the
    GIL; with one paramiko thread per open connection (each wakes every 0.1 s) it stretched from
    0.06 s at 386 threads to 4.6 s at 841, 33 s on one core: past netmiko's read timeouts
    (docs/benchmarks.md, "Why Nornir at 20 threads failed")."""
    pauses: list[dict[str, float]] = []
    began = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            began[0] = time.perf_counter()
            return
        took = time.perf_counter() - began[0]
        if took > over_s:
            pauses.append({"at_s": round(began[0] - started, 2), "threads": threading.active_count(),
                           "pause_s": round(took, 2)})

    gc.callbacks.append(on_gc)
    try:
        yield pauses
    finally:
        gc.callbacks.remove(on_gc)


def _nornir(work: Work, ns: argparse.Namespace) -> dict[str, Any]:
    from nornir.core import Nornir
    from nornir.core.inventory import ConnectionOptions, Defaults, Groups, Host, Hosts, Inventory
    from nornir.core.plugins.connections import ConnectionPluginRegister
    from nornir.core.task import Result, Task
    from nornir.plugins.runners import ThreadedRunner
    from nornir_netmiko.tasks import netmiko_send_config

    ConnectionPluginRegister.auto_register()  # what InitNornir does: finds nornir_netmiko's plugin
    options = {"netmiko": ConnectionOptions(extras={"secret": work["enable"], "fast_cli": True})}
    hosts = Hosts({
        d["name"]: Host(name=d["name"], hostname=work["host"], port=d["port"], username=work["username"],
                        password=work["password"], platform="cisco_ios", connection_options=options,
                        data={"lines": d["lines"]})
        for d in work["devices"]
    })
    nr = Nornir(inventory=Inventory(hosts=hosts, groups=Groups(), defaults=Defaults()),
                runner=ThreadedRunner(num_workers=ns.workers))

    def push(task: Task) -> Result:
        result: Result = netmiko_send_config(task, config_commands=task.host["lines"], enable=True)
        return result

    started = time.perf_counter()
    with long_collections(started) as pauses:  # Nornir keeps every connection (and its thread) open
        results = nr.run(task=push)
    nr.close_connections()
    wall = time.perf_counter() - started
    failed = sorted(results.failed_hosts)
    errors = [f"{name}: {str(results[name].exception).strip().splitlines()[:1]}" for name in failed[:3]]
    return {"wall_s": wall, "failed": failed[:20], "errors": errors, "gc_pauses": pauses,
            "status": "ok" if not failed else "failed"}


async def _scrapli_one(device: dict[str, Any], work: Work, gate: asyncio.Semaphore) -> str | None:
    from scrapli.auth import LookupKeyValue
    from scrapli.auth import Options as AuthOptions
    from scrapli.cli import Cli
    from scrapli.session import Options as SessionOptions
    from scrapli.transport import Ssh2Options

    auth = AuthOptions(username=work["username"], password=work["password"],
                       lookups=[LookupKeyValue(key="enable", value=work["enable"])])
    async with gate:
        try:
            cli = Cli(work["host"], port=device["port"], definition_file_or_name="cisco_iosxe",
                      auth_options=auth, transport_options=Ssh2Options(),
                      session_options=SessionOptions(operation_timeout_s=120))  # isolate's too
            async with cli:
                result = await cli.send_inputs_async(device["lines"], requested_mode="configuration")
                await cli.enter_mode_async("privileged_exec")
        except Exception as err:  # scrapli raises its own tree; the row names the device
            return f"{device['name']}: {type(err).__name__}: {err}"
    return f"{device['name']}: a line failed" if result.failed else None


def _scrapli(work: Work, ns: argparse.Namespace) -> dict[str, Any]:
    async def run_all() -> list[str | None]:
        gate = asyncio.Semaphore(ns.workers)
        return list(await asyncio.gather(*(_scrapli_one(d, work, gate) for d in work["devices"])))

    started = time.perf_counter()
    problems = asyncio.run(run_all())
    failed = [p for p in problems if p]
    return {"wall_s": time.perf_counter() - started, "failed": failed[:20],
            "status": "ok" if not failed else "failed"}


def _indented(lines: list[str]) -> str:
    """IOS text: a context line at the left margin, the lines under it indented by one."""
    out: list[str] = []
    inside = False
    for line in lines:
        if line.startswith(CONTEXTS):
            out.append(line)
            inside = True
        else:
            out.append(f" {line}" if inside else line)
    return "\n".join(out) + "\n"


def _ansible(work: Work, ns: argparse.Namespace) -> dict[str, Any]:
    import ansible_runner

    private = Path(tempfile.mkdtemp(prefix="bench-ansible-", dir=ns.state_dir))
    hosts = {d["name"]: {"ansible_host": work["host"], "ansible_port": d["port"],
                         "bench_config": _indented(d["lines"])} for d in work["devices"]}
    inventory = {"all": {"hosts": hosts, "vars": {
        "ansible_connection": "ansible.netcommon.network_cli",
        "ansible_network_os": "cisco.ios.ios",
        "ansible_network_cli_ssh_type": "libssh",
        "ansible_user": work["username"],
        "ansible_password": work["password"],
        "ansible_become": True,
        "ansible_become_method": "enable",
        "ansible_become_password": work["enable"],
        "ansible_host_key_checking": False,
    }}}
    playbook = [{"hosts": "all", "gather_facts": False, "tasks": [{
        "name": "push the containment lines",
        "ansible.netcommon.cli_config": {"config": "{{ bench_config }}", "diff_match": "none"},
    }]}]
    (private / "project").mkdir()
    (private / "project" / "containment.yml").write_text(json.dumps(playbook))
    (private / "inventory").mkdir()
    (private / "inventory" / "hosts.json").write_text(json.dumps(inventory))
    venv_bin = Path(sys.executable).parent  # ansible-playbook and ansible-connection live here
    os.environ["PATH"] = f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}"
    started = time.perf_counter()
    runner = ansible_runner.run(
        private_data_dir=str(private), playbook="containment.yml", forks=ns.workers, quiet=True,
        envvars={"ANSIBLE_HOST_KEY_CHECKING": "False", "ANSIBLE_PERSISTENT_COMMAND_TIMEOUT": "120",
                 "ANSIBLE_PERSISTENT_CONNECT_TIMEOUT": "120"},
    )
    wall = time.perf_counter() - started
    stats = runner.stats or {}
    failed = sorted(set(stats.get("failures", {})) | set(stats.get("dark", {})))
    return {"wall_s": wall, "failed": failed[:20], "status": runner.status, "rc": runner.rc}


TOOLS: dict[str, Callable[[Work, argparse.Namespace], dict[str, Any]]] = {
    "isolate-apply": _isolate_apply,
    "isolate-restore": _isolate_restore,
    "floor": _floor,
    "wire": _wire,
    "nornir": _nornir,
    "scrapli": _scrapli,
    "ansible": _ansible,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="containment_tools.py")
    parser.add_argument("tool", choices=sorted(TOOLS))
    parser.add_argument("--work", required=True, type=Path)
    parser.add_argument("--workers", type=int, default=100)
    parser.add_argument("--state-dir", default=tempfile.gettempdir())
    parser.add_argument("--run", default=None)
    parser.add_argument("--no-fsync", action="store_true")
    parser.add_argument("--transport", default=None, help="isolate's SSH transport (asyncssh|netmiko)")
    ns = parser.parse_args(argv)
    work: Work = json.loads(ns.work.read_text())
    result = TOOLS[ns.tool](work, ns)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
