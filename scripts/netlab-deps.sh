#!/usr/bin/env bash
# Install (idempotently) the system packages the network lab (isolate netlab) needs,
# then say loudly which capability is still missing. Debian/Ubuntu, run as root.
#
#   bash scripts/netlab-deps.sh            # install what is missing, then check (exit 0:
#                                          #   what is missing is said loudly, and the
#                                          #   netlab tests skip saying why)
#   bash scripts/netlab-deps.sh --check    # only check, install nothing; exit 1 if missing
#
# --no-install-recommends matters: recommends of openvswitch/wireguard pull a kernel image.
set -u

PACKAGES=(
  iproute2           # ip netns, veth
  util-linux         # nsenter, unshare
  nftables           # nft: router, edge firewall, leak guard
  openssh-server     # sshd on every managed device
  openssh-client     # ssh-keygen (host and client keys)
  openvswitch-switch # ovsdb-server, ovs-vswitchd (netdev datapath), ovs-vsctl
  wireguard-tools    # wg
  wireguard-go       # userspace WireGuard (the kernel here has no wireguard module)
  ethtool            # tx checksum offload off on veths attached to the OVS netdev datapath
  procps             # ps/pgrep used by humans debugging a lab
  samba              # smbd on the file servers (host actions: disable-smb-host)
  samba-ad-dc        # identity lab: Samba as an Active Directory DC (docs/identity.md)
  samba-ad-provision # identity lab: samba-tool domain provision needs its setup files
  openvpn            # identity lab: OpenVPN server and clients
  openvpn-auth-ldap  # identity lab: the server asks the directory (Auth-LDAP plugin)
  redis-server       # site workers: the Celery broker between controller and sites (docs/scale.md)
  nmap               # the decoy scenario: the infected host scans SMB (docs/watch.md)
)

# command -> package that provides it
declare -A NEEDED=(
  [ip]=iproute2
  [nsenter]=util-linux
  [unshare]=util-linux
  [nft]=nftables
  [sshd]=openssh-server
  [ssh-keygen]=openssh-client
  [ovsdb-server]=openvswitch-switch
  [ovs-vswitchd]=openvswitch-switch
  [ovs-vsctl]=openvswitch-switch
  [ovsdb-tool]=openvswitch-switch
  [wg]=wireguard-tools
  [wireguard-go]=wireguard-go
  [smbd]=samba
  [ethtool]=ethtool
  [openvpn]=openvpn
  [samba-tool]=samba-common-bin
  [redis-server]=redis-server
  [nmap]=nmap
)

# file -> package that provides it (identity lab)
declare -A NEEDED_FILES=(
  [/usr/share/samba/setup/provision.ldif]=samba-ad-provision
  [/usr/lib/openvpn/openvpn-auth-ldap.so]=openvpn-auth-ldap
)

find_cmd() {
  PATH="$PATH:/usr/sbin:/sbin:/usr/local/sbin" command -v "$1" >/dev/null 2>&1
}

missing_cmds() {
  local c
  for c in "${!NEEDED[@]}"; do
    find_cmd "$c" || echo "$c"
  done
  for f in "${!NEEDED_FILES[@]}"; do
    [[ -e "$f" ]] || echo "$f"
  done
}

if [[ "${1:-}" != "--check" ]]; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "netlab-deps: NOT ROOT: cannot install packages; re-run as root" >&2
  elif [[ -n "$(missing_cmds)" ]]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || echo "netlab-deps: WARNING: apt-get update failed" >&2
    apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" \
      || echo "netlab-deps: WARNING: apt-get install failed" >&2
  fi
fi

# OpenCanary (PyPI) for the decoy scenario, in its own venv: it pins Twisted and friends
# that isolate's .venv need not share (isolate/netlab/canary.py).
OPENCANARY_VERSION=0.9.10
canary_venv="${ISOLATE_OPENCANARY_VENV:-$(cd "$(dirname "$0")/.." && pwd)/.venv-opencanary}"
if [[ "${1:-}" != "--check" && ! -x "$canary_venv/bin/twistd" ]]; then
  { python3 -m venv "$canary_venv" && "$canary_venv/bin/pip" install -q "opencanary==$OPENCANARY_VERSION"; } \
    || echo "netlab-deps: WARNING: could not install opencanary $OPENCANARY_VERSION in $canary_venv" >&2
fi

status=0
if [[ ! -x "$canary_venv/bin/twistd" || ! -f "$canary_venv/bin/opencanary.tac" ]]; then
  echo "netlab-deps: MISSING OpenCanary in $canary_venv (pip opencanary==$OPENCANARY_VERSION)" >&2
  status=1
fi
for c in $(missing_cmds | sort); do
  echo "netlab-deps: MISSING '$c' (Debian package ${NEEDED[$c]:-${NEEDED_FILES[$c]:-?}})" >&2
  status=1
done

# Kernel capabilities the lab relies on (checked in a throwaway namespace).
if [[ $(id -u) -eq 0 ]] && find_cmd ip; then
  ns="iso-depcheck-$$"
  if ip netns add "$ns" 2>/dev/null; then
    ip -n "$ns" link add vcheck0 type veth peer name vcheck1 2>/dev/null \
      || { echo "netlab-deps: MISSING kernel veth support" >&2; status=1; }
    if find_cmd nft; then
      echo 'table inet t { chain c { type filter hook forward priority 0; }; }' \
        | ip netns exec "$ns" nft -f - 2>/dev/null \
        || { echo "netlab-deps: MISSING kernel nftables support" >&2; status=1; }
    fi
    [[ -c /dev/net/tun ]] \
      || { echo "netlab-deps: MISSING /dev/net/tun (wireguard-go, OVS netdev need it)" >&2; status=1; }
    ip netns del "$ns"
  else
    echo "netlab-deps: MISSING network namespaces (ip netns add failed)" >&2
    status=1
  fi
elif [[ $(id -u) -ne 0 ]]; then
  echo "netlab-deps: NOT ROOT: kernel capabilities not checked" >&2
  status=1
fi

if [[ $status -eq 0 ]]; then
  echo "netlab-deps: all network-lab dependencies present"
else
  echo "netlab-deps: *** NETWORK LAB INCOMPLETE: the netlab tests will be SKIPPED (see above) ***" >&2
fi
if [[ "${1:-}" == "--check" ]]; then
  exit $status
fi
exit 0
