"""Helpers of the identity-lab tests (imported as ``idlabkit``): isolate's CLI run in the
admin namespace, the directory read with samba-tool on the DC, a real LDAP bind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from isolate.netlab.directory import DC_ADDRESS, DirectoryLab


def cli(lab: DirectoryLab, state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ISOLATE_STATE_DIR": str(state)}
    argv = ["ip", "netns", "exec", lab.ns("adm"), sys.executable, "-m", "isolate", *args]
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300, check=False)


def start_cli(lab: DirectoryLab, state: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "ISOLATE_STATE_DIR": str(state)}
    argv = ["ip", "netns", "exec", lab.ns("adm"), sys.executable, "-m", "isolate", *args]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def show(lab: DirectoryLab, account: str) -> dict[str, list[str]]:
    """userAccountControl and memberOf as samba-tool (on the DC) shows them."""
    conf = lab.dir / "dc" / "etc" / "smb.conf"
    done = subprocess.run(
        ["ip", "netns", "exec", lab.ns("dc"), "samba-tool", "user", "show", account,
         "--attributes=userAccountControl,memberOf", f"--configfile={conf}"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    out: dict[str, list[str]] = {}
    for line in done.stdout.splitlines():
        if ": " in line and not line.startswith("dn:"):
            key, value = line.split(": ", 1)
            out.setdefault(key, []).append(value)
    return {k: sorted(v) for k, v in out.items()}


def can_bind(lab: DirectoryLab, account: str) -> bool:
    """A real LDAP simple bind as ``account`` (LDAPS, CA verified), from the admin namespace."""
    code = (
        "import ssl,sys\n"
        "from ldap3 import Server, Connection, Tls, SIMPLE\n"
        f"tls = Tls(validate=ssl.CERT_REQUIRED, ca_certs_file={str(lab.ca_file)!r})\n"
        f"s = Server({DC_ADDRESS!r}, port=636, use_ssl=True, tls=tls)\n"
        f"c = Connection(s, user={account + '@lab.example'!r}, password=sys.stdin.read(),\n"
        "               authentication=SIMPLE)\n"
        "print('bound' if c.bind() else 'refused ' + str(c.result.get('message')))\n"
    )
    done = subprocess.run(
        ["ip", "netns", "exec", lab.ns("adm"), sys.executable, "-c", code],
        input=lab.passwords[account], capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return done.stdout.strip() == "bound"
