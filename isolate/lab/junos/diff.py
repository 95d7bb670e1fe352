"""``show | compare``: the candidate against a rollback, in Junos's patch format.

Each hierarchy level with a change gets an ``[edit PATH]`` header, then its removed (``-``)
and added (``+``) statements, indented below that level as Junos does; an empty diff is a
single newline (what PyEZ's ``Config.diff`` reads as "no difference").
"""

from __future__ import annotations

from isolate.lab.junos import config as cfg


def diff_text(old: cfg.Node, new: cfg.Node) -> str:
    out: list[str] = []
    _diff(old, new, [], out)
    return "\n" + "\n".join(out) + "\n" if out else "\n"


def _lines(node: cfg.Node) -> list[str]:
    holder = cfg.Node("x", children={node.key: node})
    return cfg.render_text(holder).splitlines()


def _diff(old: cfg.Node, new: cfg.Node, path: list[str], out: list[str]) -> None:
    here: list[str] = []
    pad = " " * (4 * max(len(path), 1) - 1)
    for key, before in old.children.items():
        changed = new.children.get(key)
        if changed is None or changed.kind != before.kind:
            here += [f"-{pad}{line}" for line in _lines(before) if before.visible()]
        elif before.kind != "container" and before.values != changed.values:
            here += [f"-{pad}{line}" for line in _lines(before)]
            here += [f"+{pad}{line}" for line in _lines(changed)]
    for key, after in new.children.items():
        was = old.children.get(key)
        if (was is None or was.kind != after.kind) and after.visible():
            here += [f"+{pad}{line}" for line in _lines(after)]
    if here:
        out.append(f"[edit{''.join(' ' + p for p in path)}]")
        out += here
    for key, after in new.children.items():
        was = old.children.get(key)
        if was is not None and was.kind == after.kind == "container":
            _diff(was, after, [*path, key], out)
