"""Network-lab fixtures: one real lab for the session, always torn down.

Every test here is marked ``netlab``. Without root or a needed tool the tests are
skipped with the exact reason (``pytest -ra`` prints it); nothing is skipped silently.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator

import pytest
from netlabkit import Lab

from isolate.netlab import build, netns


def netlab_skip_reason() -> str | None:
    problems = build.missing_capabilities()
    if problems:
        return "NETLAB TESTS SKIPPED (network lab cannot run here): " + "; ".join(problems)
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    reason = netlab_skip_reason()
    for item in items:
        if "tests/netlab/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.netlab)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def netlab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    directory = tmp_path_factory.mktemp("netlab")
    try:
        build.up(directory)
        prefix = json.loads((directory / "netlab.json").read_text())["prefix"]
        yield Lab(directory, prefix)
    finally:
        if (directory / "netlab.json").exists():
            result = build.down(directory)
            assert not result.problems, result.problems
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture()
def admin_ns(netlab: Lab) -> Iterator[str]:
    """Run the test's thread inside the admin station's namespace: drivers connect from
    there (never from the root namespace, which has no lab route)."""
    ns = netlab.ns("admin1")
    with netns.entered(ns):
        yield ns
