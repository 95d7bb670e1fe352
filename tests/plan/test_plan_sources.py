"""Prefixes as first-class sources (inventory ``sources``: the Internet, an attacker range),
through the real command line: ``--set attacker=attacker-range`` edge-blocks its prefix and
the plan counts the flows it cuts; cutting the Internet from a protected public service is
refused like any other violation; a bad source is one located line, exit 2."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from isolate.cli import main

DATA = Path(__file__).parent / "data"

SOURCES = """\
sources:
  - {name: internet, prefix: 0.0.0.0/0, zone: outside, description: every citizen}
  - {name: attacker-range, prefix: 203.0.113.0/24}
"""

BLOCK = """\
version: 1
name: block
parameters:
  attacker: {type: prefix, description: attacker prefixes or sources, default: 192.0.2.1}
steps:
  - id: block-attacker
    action: edge-block
    targets: {parameters: [attacker]}
"""


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> subprocess.CompletedProcess[str]:
    with pytest.raises(SystemExit) as info:
        main(list(args))
        raise SystemExit(0)
    out, err = capsys.readouterr()
    code = info.value.code if isinstance(info.value.code, int) else 0
    return subprocess.CompletedProcess(list(args), code, out, err)


def _inventory(tmp_path: Path, sources: str = SOURCES) -> str:
    """The plan tests' city, https protected on the public websites, without the outside
    host (so the outside is only the sources), plus ``sources``."""
    text = (DATA / "city.yml").read_text(encoding="utf-8")
    text = text.replace(
        "services: [civil-status, payments, dns]",
        "services: [civil-status, payments, dns, {service: https, segments: [websites]}]",
    )
    text = "\n".join(line for line in text.splitlines() if "name: attacker," not in line) + "\n"
    path = tmp_path / "city.yml"
    path.write_text(text + sources, encoding="utf-8")
    return str(path)


def _playbook(tmp_path: Path) -> str:
    path = tmp_path / "block.yml"
    path.write_text(BLOCK, encoding="utf-8")
    return str(path)


def test_attacker_range_by_name_is_cut_and_counted(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    inv, book = _inventory(tmp_path), _playbook(tmp_path)
    done = _cli(capsys, "plan", "-i", inv, book, "--set", "attacker=attacker-range")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "parameter attacker (prefix, --set): attacker-range -> 203.0.113.0/24\n" in out
    assert "CUT: 20 of 400 flows (5%)" in out
    # 19 hosts serve 20 services; every one is reached from each source: 20 flows per source
    assert "block-attacker (edge-block): 20 flow(s); segment(s) attacker-range cut off;" in out
    assert "for attacker-range\n" in out
    assert "REFUSED: nothing: every guard passed" in out
    assert "web1 https 443/tcp: kept for 19 source(s), cut for 1" in out

    data = json.loads(
        _cli(capsys, "plan", "-i", inv, book, "--set", "attacker=attacker-range", "--json").stdout
    )
    blast = data["blast"]
    assert blast["flows_cut"] == 20
    assert data["steps"][0]["changes"][0]["device"] == "fw-edge"


def test_a_part_of_the_internet_does_not_cut_the_internet(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    inv, book = _inventory(tmp_path), _playbook(tmp_path)
    done = _cli(capsys, "plan", "-i", inv, book, "--set", "attacker=198.51.100.0/24")
    assert done.returncode == 0, done.stderr
    assert "CUT: 0 of" in done.stdout


def test_cutting_the_internet_from_a_protected_public_service_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    inv, book = _inventory(tmp_path), _playbook(tmp_path)
    done = _cli(capsys, "plan", "-i", inv, book, "--set", "attacker=internet")
    assert done.returncode == 6
    assert done.stdout == ""
    assert done.stderr == (
        "error: step 'block-attacker' refused: on fw-edge it would cut protected service dns on dns1 "
        "(10.10.10.53:53/tcp) from source internet (0.0.0.0/0), which then reaches no dns provider "
        "(protected-host 2, protected-service 4; --override block-attacker:GUARD lifts one guard); "
        "use --override block-attacker --reason TEXT to force\n"
    )
    forced = _cli(
        capsys, "plan", "-i", inv, book, "--set", "attacker=internet",
        "--override", "block-attacker:protected-service", "--override", "block-attacker:protected-host",
        "--reason", "drill: the Internet cut", "--json",
    )  # fmt: skip
    assert forced.returncode == 0, forced.stderr
    overrides = json.loads(forced.stdout)["overrides"]
    https = [o for o in overrides if o["guard"] == "protected-service"]
    assert len(https) == 1 and "from source internet (0.0.0.0/0)" in https[0]["detail"]


def test_unknown_source_name_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    done = _cli(
        capsys, "plan", "-i", _inventory(tmp_path), _playbook(tmp_path), "--set", "attacker=atacker-range"
    )
    assert (done.returncode, done.stdout) == (2, "")
    assert (
        done.stderr
        == "error: --set attacker=atacker-range: no host or source 'atacker-range' in the inventory\n"
    )


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("  - {name: attacker-range, prefix: 203.0.113.7/24}\n",
         "sources[0].prefix: host bits set in prefix '203.0.113.7/24'"),
        ("  - {name: attacker-range, prefix: 203.0.113.0/33}\n",
         "sources[0].prefix: not an IP prefix: '203.0.113.0/33'"),
        ("  - {name: attacker-range, prefix: 203.0.113.0/24, zone: inside}\n",
         "sources[0].zone: "),
        ("  - {name: outside, prefix: 203.0.113.0/24}\n",
         "sources[0].name: source 'outside' is already the name of a segment"),
        ("  - {name: web1, prefix: 203.0.113.0/24}\n",
         "sources[0].name: source 'web1' is already the name of a host"),
    ],
)  # fmt: skip
def test_inventory_check_refuses_a_bad_source_in_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, source: str, message: str
) -> None:
    inv = _inventory(tmp_path, "sources:\n" + source)
    line = len(Path(inv).read_text(encoding="utf-8").splitlines())
    done = _cli(capsys, "inventory", "check", "-i", inv, "--no-credentials")
    assert (done.returncode, done.stdout) == (2, "")
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"error: {inv}:{line}: {message}")


def test_inventory_check_passes_sources(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    done = _cli(capsys, "inventory", "check", "-i", _inventory(tmp_path), "--no-credentials")
    assert done.returncode == 0, done.stderr


def test_inventory_show_lists_the_sources_with_their_lines(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    inv = _inventory(tmp_path)
    last = len(Path(inv).read_text(encoding="utf-8").splitlines())
    text = _cli(capsys, "inventory", "show", "-i", inv)
    assert text.returncode == 0, text.stderr
    assert text.stdout.endswith(
        f"sources (2):\n  internet: 0.0.0.0/0 zone outside  [{inv}:{last - 1}]\n"
        f"  attacker-range: 203.0.113.0/24 zone outside  [{inv}:{last}]\n"
    )
    graph = _cli(capsys, "inventory", "show", "-i", inv, "--graph")
    assert graph.stdout.endswith(
        "@sources:\n  |--internet (0.0.0.0/0, outside)\n  |--attacker-range (203.0.113.0/24, outside)\n"
    )
    data = json.loads(_cli(capsys, "inventory", "show", "-i", inv, "--json").stdout)
    assert [(x["name"], x["prefix"]) for x in data["sources"]] == [
        ("internet", "0.0.0.0/0"),
        ("attacker-range", "203.0.113.0/24"),
    ]


EDGE_RULESET = """\
table inet edge {
\tchain forward {
\t\ttype filter hook forward priority filter; policy accept;
\t\tip daddr 10.10.40.0/24 tcp dport { 80, 443 } accept
\t\tip daddr 10.0.0.0/8 drop
\t}
}
"""


def test_baseline_of_the_edge_closes_what_the_sources_never_reached(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The edge already lets the outside reach only the websites: blocking the attacker
    range cuts its 2 open flows (https, http on web1), not 20."""
    states = tmp_path / "states"
    states.mkdir()
    (states / "fw-edge.txt").write_text(EDGE_RULESET, encoding="utf-8")
    inv, book = _inventory(tmp_path), _playbook(tmp_path)
    done = _cli(
        capsys, "plan", "-i", inv, book, "--set", "attacker=attacker-range", "--baseline", str(states)
    )
    assert done.returncode == 0, done.stderr
    assert "block-attacker (edge-block): 2 flow(s); segment(s) attacker-range cut off;" in done.stdout
    data = json.loads(
        _cli(
            capsys,
            "plan",
            "-i",
            inv,
            book,
            "--set",
            "attacker=attacker-range",
            "--baseline",
            str(states),
            "--json",
        ).stdout
    )
    # 18 services per source (internet, attacker-range) closed by the edge already
    assert (data["blast"]["flows_cut"], data["blast"]["flows_closed_at_baseline"]) == (2, 36)
