"""Private mount namespaces (a holder per daemon namespace) and real OpenSSH servers.

sshd needs ``/run/sshd`` and wireguard-go needs ``/run/wireguard``: rather than touch
the machine's ``/run``, each managed device's namespace gets a *holder* process that
unshares the mount namespace, mounts a tmpfs on ``/run`` and sleeps; daemons are then
started inside it with ``nsenter -t HOLDER -m -n``, and so are the commands an SSH
session runs there (``wg`` sees the daemon's socket).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Sequence
from pathlib import Path

from isolate.errors import LabError
from isolate.netlab import netns
from isolate.netlab.state import Ledger, Proc, spawn

SSHD = "/usr/sbin/sshd"
# /var/lib/isolate is where the linux driver keeps revert files: private per device too.
# The lab devices' root gets an empty home: the machine's ~/.bashrc (sourced by bash for
# every SSH command) is not theirs, and it may be slow (pyenv init costs ~0.5 s a command).
_HOLDER_SCRIPT = (
    "mount -t tmpfs -o mode=755 netlab-run /run"
    " && mkdir -p /run/sshd /run/wireguard /run/isolate /var/lib/isolate"
    " && mount -t tmpfs -o mode=700 netlab-state /var/lib/isolate"
    " && mount -t tmpfs -o mode=700 netlab-home ~root"
    " && exec sleep infinity"
)


def start_holder(ledger: Ledger, ns: str, device: str) -> Proc:
    argv = ["ip", "netns", "exec", ns, "unshare", "--mount", "--propagation", "private"]
    return spawn(ledger, f"holder-{device}", ns, [*argv, "sh", "-c", _HOLDER_SCRIPT])


def wait_holders(holders: Sequence[Proc], *, timeout_s: float = 5.0) -> None:
    """Wait until each holder has mounted its /run and exec'd ``sleep``."""
    deadline = time.monotonic() + timeout_s
    pending = list(holders)
    while pending:
        pending = [h for h in pending if _comm(h.pid) != "sleep"]
        if pending and time.monotonic() > deadline:
            raise LabError(f"{pending[0].name}: private /run not ready (see logs/{pending[0].name}.log)")
        if pending:
            time.sleep(0.01)


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def inside(holder: Proc, argv: Sequence[str]) -> list[str]:
    """``argv`` run in the holder's mount and network namespaces."""
    return ["nsenter", "-t", str(holder.pid), "-m", "-n", "--", *argv]


def keygen(path: Path, comment: str) -> None:
    if not path.exists():
        netns.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)])


def config_text(
    *, address: str, host_key: Path, pid_file: Path, authorized_keys: Path, env: dict[str, str]
) -> str:
    lines = [
        f"ListenAddress {address}:22",
        f"HostKey {host_key}",
        f"PidFile {pid_file}",
        f"AuthorizedKeysFile {authorized_keys}",
        "PermitRootLogin prohibit-password",
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "StrictModes no",
        "UseDNS no",
        "PrintMotd no",
        "PrintLastLog no",
        "LogLevel ERROR",
        "MaxStartups 100:30:200",
        "MaxSessions 64",
    ]
    if env:
        lines.append("SetEnv " + " ".join(f"{k}={v}" for k, v in sorted(env.items())))
    return "\n".join(lines) + "\n"


def start_sshd(
    ledger: Ledger,
    holder: Proc,
    device: str,
    address: str,
    *,
    env: dict[str, str] | None = None,
) -> Proc:
    """Write the device's sshd config and host key under DIR/ssh, start sshd in the holder."""
    if shutil.which(SSHD) is None and not Path(SSHD).exists():
        raise LabError(f"{SSHD} not found: install openssh-server (scripts/netlab-deps.sh)")
    ssh_dir = ledger.dir / "ssh"
    host_key = ssh_dir / f"{device}_host_ed25519_key"
    keygen(host_key, f"netlab-{device}")
    config = ssh_dir / f"{device}.sshd_config"
    config.write_text(
        config_text(
            address=address,
            host_key=host_key,
            pid_file=ledger.dir / "run" / f"sshd-{device}.pid",
            authorized_keys=ssh_dir / "authorized_keys",
            env=env or {},
        )
    )
    return spawn(ledger, f"sshd-{device}", holder.ns, inside(holder, [SSHD, "-D", "-e", "-f", str(config)]))


def host_key_line(ledger: Ledger, device: str, address: str) -> str:
    public = (ledger.dir / "ssh" / f"{device}_host_ed25519_key.pub").read_text().split()
    return f"{address} {public[0]} {public[1]}"
