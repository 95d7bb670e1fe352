"""The fixed shell scripts that read a host's state for the ``ansible`` platform.

The ``ansible`` driver's ``read_state()`` runs :data:`STATE_SCRIPT`; what its output means
(and the actions that read it) is ``isolate.actions.host_state``. They live here, below the
actions, so that drivers import nothing from actions. Fixed text: no inventory or playbook
value is ever formatted into it.
"""

from __future__ import annotations

HOST_TABLE = "isolate_host"
RECORD_PATH = "/var/lib/isolate/host-smb.record"
STATE_HEADER = "isolate-host-state 1"

# Fixed shell text: no inventory or playbook value is ever formatted into it.
SERVICES_SCRIPT = r"""
if [ -d /run/systemd/system ]; then m=systemd; else m=sysvinit; fi
echo "manager $m"
for s in nmbd smbd; do
  if [ "$m" = systemd ]; then
    if systemctl cat "$s.service" >/dev/null 2>&1; then i=yes; else i=no; fi
    if systemctl is-active --quiet "$s.service"; then r=yes; else r=no; fi
    b=$(systemctl is-enabled "$s.service" 2>/dev/null | head -n1); b=${b:-none}
  else
    if [ -x "/etc/init.d/$s" ]; then i=yes; else i=no; fi
    r=no
    if [ "$i" = yes ] && "/etc/init.d/$s" status >/dev/null 2>&1; then r=yes; fi
    b=unmanaged
  fi
  [ "$i" = yes ] || { r=no; b=none; }
  echo "service $s installed=$i running=$r boot=$b"
done
""".strip()

STATE_SCRIPT = (
    f"echo '{STATE_HEADER}'\n"
    + SERVICES_SCRIPT
    + f"""
if [ -f {RECORD_PATH} ]; then grep '^service ' {RECORD_PATH} | sed 's/^/recorded /'
else echo 'recorded absent'; fi
if command -v nft >/dev/null 2>&1; then
  echo 'nft available'
  nft -s list table inet {HOST_TABLE} 2>/dev/null || echo 'table inet {HOST_TABLE} absent'
else
  echo 'nft missing'
fi
"""
)

# The services, printed; the first time (no record yet) also kept in RECORD_PATH.
PROBE_SCRIPT = (
    f"{{\n{SERVICES_SCRIPT}\n}} | if [ -e {RECORD_PATH} ]; then cat; "
    f"else mkdir -p {RECORD_PATH.rsplit('/', 1)[0]} && umask 077 && tee {RECORD_PATH}; fi"
)
