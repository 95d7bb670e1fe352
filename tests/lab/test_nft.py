"""The nft simulator through its command line: printing, handles, JSON, errors, atomicity,
and packet evaluation. Expected texts were recorded from real nft 1.0.6 (Debian 12)."""

from __future__ import annotations

import json

import pytest

from isolate.lab.nft import (
    Packet,
    Ruleset,
    evaluate,
    load_ruleset,
    ruleset_from_dict,
    ruleset_text,
    ruleset_to_dict,
    run_nft,
)

SCRIPT = """table inet filter {
	set blocked { type ipv4_addr; flags interval; elements = { 10.0.0.0/8, 192.168.1.1 }; }
	chain forward { type filter hook forward priority 0; policy accept;
		ct state established,related accept
		ip saddr 10.1.0.0/16 tcp dport { 445, 139 } counter drop
		ip daddr @blocked drop
		meta l4proto { tcp, udp } th dport 53 accept
		iifname "eth0" oifname "eth1" udp dport 1000-2000 reject
		tcp dport 22 reject with tcp reset
		jump other
	}
	chain other { return; }
	chain input { type filter hook input priority -10; policy drop; }
	chain out { type filter hook output priority 10; }
}
table ip nat { chain post { type nat hook postrouting priority 100; }; }
"""

LISTED = """table inet filter {
	set blocked {
		type ipv4_addr
		flags interval
		elements = { 10.0.0.0/8, 192.168.1.1 }
	}

	chain forward {
		type filter hook forward priority filter; policy accept;
		ct state established,related accept
		ip saddr 10.1.0.0/16 tcp dport { 139, 445 } counter packets 0 bytes 0 drop
		ip daddr @blocked drop
		meta l4proto { tcp, udp } th dport 53 accept
		iifname "eth0" oifname "eth1" udp dport 1000-2000 reject
		tcp dport 22 reject with tcp reset
		jump other
	}

	chain other {
		return
	}

	chain input {
		type filter hook input priority filter - 10; policy drop;
	}

	chain out {
		type filter hook output priority filter + 10; policy accept;
	}
}
table ip nat {
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
	}
}
"""


def nft(rs: Ruleset, *argv: str, stdin: str = "") -> tuple[Ruleset, str, str, int]:
    result = run_nft(rs, list(argv), stdin=stdin, read_file=lambda _: None)
    return result.ruleset, result.stdout, result.stderr, result.exit_status


def loaded() -> Ruleset:
    rs, _, err, status = nft(Ruleset(), "-f", "-", stdin=SCRIPT)
    assert (err, status) == ("", 0)
    return rs


def test_list_ruleset_prints_as_nft_does() -> None:
    _, out, _, status = nft(loaded(), "list", "ruleset")
    assert status == 0
    assert out == LISTED


def test_handles_are_allocated_like_the_kernel() -> None:
    _, out, _, _ = nft(loaded(), "-a", "list", "ruleset")
    lines = out.splitlines()
    assert lines[0] == "table inet filter { # handle 1"
    assert "\tset blocked { # handle 5" in lines  # chains of a block first, then sets
    assert "\tchain forward { # handle 1" in lines
    # each anonymous set takes a handle: { 139, 445 } is 7, { tcp, udp } is 10
    assert "\t\tct state established,related accept # handle 6" in lines
    assert "\t\tip daddr @blocked drop # handle 9" in lines
    assert "\t\tmeta l4proto { tcp, udp } th dport 53 accept # handle 11" in lines
    assert "table ip nat { # handle 2" in lines


def test_stateless_listing_drops_counter_values() -> None:
    _, out, _, _ = nft(loaded(), "-s", "list", "ruleset")
    assert "\t\tip saddr 10.1.0.0/16 tcp dport { 139, 445 } counter drop\n" in out


def test_json_listing_follows_nft_schema() -> None:
    _, out, _, _ = nft(loaded(), "-j", "list", "ruleset")
    items = json.loads(out)["nftables"]
    assert items[0] == {
        "metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}
    }
    assert items[1] == {"table": {"family": "inet", "name": "filter", "handle": 1}}
    rules = [i["rule"] for i in items if "rule" in i]
    assert rules[1]["expr"] == [
        {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}},
                   "right": {"prefix": {"addr": "10.1.0.0", "len": 16}}}},
        {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}},
                   "right": {"set": [139, 445]}}},
        {"counter": {"packets": 0, "bytes": 0}},
        {"drop": None},
    ]  # fmt: skip
    assert out.startswith('{"nftables": [{"metainfo": {"version": "1.0.6"')


def test_incremental_commands_and_positions() -> None:
    rs = Ruleset()
    for argv in (
        ["add", "table", "inet", "t"],
        ["add", "chain", "inet", "t", "fw", "{ type filter hook forward priority 0; policy drop; }"],
        ["add", "rule", "inet", "t", "fw", "tcp", "dport", "22", "accept"],
        ["insert", "rule", "inet", "t", "fw", "tcp", "dport", "23", "accept"],
        ["add", "rule", "inet", "t", "fw", "position", "3", "udp", "dport", "53", "accept"],
    ):
        rs, _, err, status = nft(rs, *argv)
        assert (err, status) == ("", 0), argv
    _, out, _, _ = nft(rs, "-a", "list", "chain", "inet", "t", "fw")
    assert out == (
        "table inet t {\n\tchain fw { # handle 1\n"
        "\t\ttype filter hook forward priority filter; policy drop;\n"
        "\t\ttcp dport 23 accept # handle 3\n\t\tudp dport 53 accept # handle 4\n"
        "\t\ttcp dport 22 accept # handle 2\n\t}\n}\n"
    )
    rs, _, _, status = nft(rs, "delete", "rule", "inet", "t", "fw", "handle", "2")
    assert status == 0
    _, out, _, _ = nft(rs, "list", "table", "inet", "t")
    assert "dport 22" not in out


def test_named_set_elements_sorted_and_wrapped() -> None:
    rs, _, _, _ = nft(Ruleset(), "add", "table", "inet", "t")
    spec = "{ type ipv4_addr; elements = { 10.0.0.9, 10.0.0.1, 192.168.0.5, 10.0.0.3 }; }"
    rs, _, _, _ = nft(rs, "add", "set", "inet", "t", "s", spec)
    rs, _, _, _ = nft(rs, "add", "set", "inet", "t", "p", "{ type inet_service; }")
    rs, _, _, _ = nft(rs, "add", "element", "inet", "t", "p", "{ 445, 22, 139 }")
    _, out, _, _ = nft(rs, "list", "ruleset")
    assert "\t\telements = { 10.0.0.1, 10.0.0.3,\n\t\t\t     10.0.0.9, 192.168.0.5 }\n" in out
    assert "\t\telements = { 22, 139, 445 }\n" in out


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["add", "chain", "inet", "t", "drop"],
         "Error: syntax error, unexpected drop, expecting string\n"
         "add chain inet t drop\n                 ^^^^\n"),
        (["add", "rule", "inet", "t", "c", "tcp", "dprt", "22", "accept"],
         "Error: syntax error, unexpected string\n"
         "add rule inet t c tcp dprt 22 accept\n                      ^^^^\n"),
        (["add", "rule", "inet", "t", "c", "tcp", "dport", "foo", "accept"],
         "Error: Could not resolve service: Servname not supported for ai_socktype\n"
         "add rule inet t c tcp dport foo accept\n                            ^^^\n"),
        (["add", "rule", "inet", "t", "nochain", "accept"],
         "Error: Could not process rule: No such file or directory\n"
         "add rule inet t nochain accept\n                ^^^^^^^\n"),
        (["delete", "rule", "inet", "t", "c", "handle", "99"],
         "Error: Could not process rule: No such file or directory\n"
         "delete rule inet t c handle 99\n                            ^^\n"),
        (["create", "table", "inet", "t"],
         "Error: Could not process rule: File exists\ncreate table inet t\n                  ^\n"),
        (["list", "table", "inet", "zz"],
         "Error: No such file or directory\nlist table inet zz\n                ^^\n"),
    ],
)  # fmt: skip
def test_errors_as_nft_prints_them(argv: list[str], expected: str) -> None:
    rs, _, _, _ = nft(Ruleset(), "-f", "-", stdin="table inet t {\n\tchain c {\n\t}\n}\n")
    after, out, err, status = nft(rs, *argv)
    assert (out, err, status) == ("", expected, 1)
    assert after is rs


def test_file_errors_name_line_and_columns() -> None:
    script = "table inet t {\n\tchain other { return }\n}\n"
    _, _, err, status = nft(Ruleset(), "-f", "-", stdin=script)
    assert status == 1
    assert err.startswith(
        "/dev/stdin:2:23-23: Error: syntax error, unexpected '}', expecting newline or semicolon\n"
        "\tchain other { return }\n\t                     ^\n"
    )


def test_file_is_one_transaction() -> None:
    rs = loaded()
    before = ruleset_text(rs)
    script = "add table ip x\nadd chain ip x c\nadd rule ip x c tcp dport 22 drp\n"
    after, _, err, status = nft(rs, "-f", "-", stdin=script)
    assert status == 1 and "/dev/stdin:3:" in err
    assert ruleset_text(after) == before
    script = "add table ip x\nadd rule ip x nochain accept\n"
    after, _, err, status = nft(rs, "-f", "-", stdin=script)
    assert status == 1 and ruleset_text(after) == before


def test_listing_reads_back_and_persists() -> None:
    rs = loaded()
    again = load_ruleset(ruleset_text(rs))
    assert ruleset_text(again) == LISTED
    restored = ruleset_from_dict(json.loads(json.dumps(ruleset_to_dict(rs))))
    assert nft(restored, "-a", "list", "ruleset")[1] == nft(rs, "-a", "list", "ruleset")[1]


def test_delete_and_flush_forms() -> None:
    rs = loaded()
    _, _, err, status = nft(rs, "delete", "chain", "inet", "filter", "other")
    assert status == 1 and "Device or resource busy" in err  # still referenced by a jump
    rs, _, _, status = nft(rs, "flush", "chain", "inet", "filter", "forward")
    assert status == 0
    rs, _, _, status = nft(rs, "delete", "element", "inet", "filter", "blocked", "{ 192.168.1.1 }")
    assert status == 0
    rs, out, _, _ = nft(rs, "list", "set", "inet", "filter", "blocked")
    assert "elements = { 10.0.0.0/8 }" in out
    rs, _, _, status = nft(rs, "delete", "table", "inet", "filter")
    assert status == 0
    rs, _, _, _ = nft(rs, "flush", "ruleset")
    assert nft(rs, "list", "ruleset")[1] == ""


# -- evaluation ---------------------------------------------------------------------------


def ruleset(script: str) -> Ruleset:
    return load_ruleset(script)


def test_evaluate_policy_and_first_match() -> None:
    rs = ruleset(
        "table inet f {\n\tchain fw {\n\t\ttype filter hook forward priority 0; policy drop;\n"
        "\t\tip saddr 10.1.0.0/16 tcp dport { 139, 445 } drop\n\t\ttcp dport 445 accept\n\t}\n}\n"
    )
    smb = Packet("tcp", "10.1.2.3", "10.2.0.1", dport=445)
    assert evaluate(rs, "forward", smb).verdict == "drop"
    assert evaluate(rs, "forward", Packet("tcp", "10.3.0.1", "10.2.0.1", dport=445)).accepted
    policy = evaluate(rs, "forward", Packet("udp", "10.3.0.1", "10.2.0.1", dport=53))
    assert (policy.verdict, policy.handle) == ("drop", None)
    assert evaluate(rs, "input", smb).accepted  # no base chain on that hook


def test_accept_continues_to_the_next_base_chain_drop_is_final() -> None:
    rs = ruleset(
        "table inet a {\n\tchain c {\n\t\ttype filter hook forward priority 10; policy accept;\n"
        "\t\ttcp dport 22 drop\n\t}\n}\n"
        "table ip b {\n\tchain c {\n\t\ttype filter hook forward priority -10; policy accept;\n"
        "\t\ttcp dport 22 accept\n\t}\n}\n"
    )
    decision = evaluate(rs, "forward", Packet("tcp", "10.0.0.1", "10.0.0.2", dport=22))
    assert decision.verdict == "drop"
    assert decision.table == "inet a"  # the later (priority 10) chain decided


def test_jump_return_and_goto() -> None:
    rs = ruleset(
        "table inet f {\n\tset bad {\n\t\ttype ipv4_addr\n\t\tflags interval\n"
        "\t\telements = { 100.64.0.0/24 }\n\t}\n\n"
        "\tchain fw {\n\t\ttype filter hook forward priority 0; policy accept;\n"
        "\t\tjump check\n\t\tudp dport 53 goto dns\n\t\ttcp dport 80 drop\n\t}\n\n"
        "\tchain check {\n\t\tip saddr @bad drop\n\t\treturn\n\t}\n\n"
        "\tchain dns {\n\t\tip saddr 10.9.0.0/16 drop\n\t}\n}\n"
    )
    assert evaluate(rs, "forward", Packet("tcp", "100.64.0.66", "10.0.0.1", dport=443)).verdict == "drop"
    assert evaluate(rs, "forward", Packet("tcp", "10.1.0.1", "10.0.0.1", dport=80)).verdict == "drop"
    assert evaluate(rs, "forward", Packet("tcp", "10.1.0.1", "10.0.0.1", dport=443)).accepted
    # goto does not come back: the tcp dport 80 rule is never reached for udp, and the
    # end of "dns" is the end of the base chain (policy accept)
    assert evaluate(rs, "forward", Packet("udp", "10.1.0.1", "10.0.0.1", dport=53)).accepted
    assert evaluate(rs, "forward", Packet("udp", "10.9.0.1", "10.0.0.1", dport=53)).verdict == "drop"
