"""Every Lambda handler's import graph stays within its budget (tests/import_budget.toml).

A cold start pays for every module a handler imports before its first line runs, so a handler imports what its common
path needs and defers the rest. Import *times* belong to the bench (`cold_import_ratio_max` in tests/bench/run.py);
this test checks what is deterministic: the set of modules `import functions.<name>.app` loads in a fresh process, in
the template's environment. It fails when a handler loads more project and third-party modules than its budget, loads
a package outside its list (botocore in a handler that defers its stores, a heavy standard-library package such as
asyncio, ...), or loads one that no handler may load at import time (twilio, jwt, cryptography, holidays, ...).

After a deliberate change, rewrite the budget from what the handlers load now and review the diff:
    .venv/bin/python -m tests.unit.test_import_budget --update
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import pytest

from tests.bench.run import HANDLERS, ROOT, lambda_environment

BUDGET_FILE = ROOT / 'tests' / 'import_budget.toml'
# Standard-library packages heavy enough to be worth listing: a handler that starts importing one shows in the diff.
HEAVY_STDLIB = frozenset({
    'asyncio', 'concurrent', 'email', 'http', 'multiprocessing', 'sqlite3', 'ssl', 'tempfile', 'xml', 'zipfile',
})  # fmt: skip
HEADROOM = 5  # modules a handler (and each of its packages) may grow by before the budget must be rewritten on purpose
_PROBE = 'import json, sys\nbefore = set(sys.modules)\nimport {module}\nprint(json.dumps(sorted(set(sys.modules) - before)))\n'


def loaded_modules(module: str) -> list[str]:
    """The modules `import <module>` loads in a fresh interpreter, with the template's Globals environment."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), **lambda_environment())
    out = subprocess.run([sys.executable, '-c', _PROBE.format(module=module)], env=env, cwd=ROOT, capture_output=True,
                         text=True, check=False, timeout=120)  # fmt: skip
    if out.returncode != 0:
        raise AssertionError(f'import {module} failed:\n{out.stderr[-2000:]}')
    return list(json.loads(out.stdout.strip().splitlines()[-1]))


def _top(name: str) -> str:
    return name.split('.')[0]


def _stdlib(top: str) -> bool:
    return top in sys.stdlib_module_names or top.startswith(('_sysconfigdata', '__mp_main__'))


def counted(modules: list[str]) -> list[str]:
    """Project and third-party modules (the standard library's count varies with the interpreter's patch release)."""
    return [name for name in modules if not _stdlib(_top(name))]


def packages(modules: list[str]) -> dict[str, int]:
    """Modules loaded per top-level package: project, third-party, and the heavy standard-library packages."""
    tops = Counter(_top(name) for name in modules)
    return {top: n for top, n in sorted(tops.items()) if not _stdlib(top) or top in HEAVY_STDLIB}


@cache
def measured() -> dict[str, list[str]]:
    """Every handler's loaded modules, measured in parallel fresh processes (one import each)."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(HANDLERS, pool.map(loaded_modules, HANDLERS.values()), strict=True))


def budget() -> dict[str, object]:
    return tomllib.loads(BUDGET_FILE.read_text())


def test_every_handler_has_a_budget() -> None:
    # Given every function in functions/*/app.py
    # When the budget file is read
    handlers = budget()['handlers']
    # Then each has an entry (a new function is budgeted when it is added), and none is left for a removed one
    assert isinstance(handlers, dict)
    assert sorted(handlers) == sorted(HANDLERS)


@pytest.mark.parametrize('name', sorted(HANDLERS))
def test_a_handler_imports_no_more_than_its_budget(name: str) -> None:
    # Given the handler's budget
    entry = budget()['handlers'][name]  # type: ignore[index]
    allowed: dict[str, int] = entry['packages']
    forbidden = set(budget()['forbidden']['everywhere'])  # type: ignore[index]
    # When its app module is imported in a fresh process
    modules = measured()[name]
    loaded = packages(modules)
    # Then no package that no handler may load at import time is loaded
    assert not loaded.keys() & forbidden, f'{name} imports {sorted(loaded.keys() & forbidden)} at import time: defer it'
    # And it loads no package outside its list, nor many more modules of one than budgeted
    grown = {top: n for top, n in loaded.items() if n > allowed.get(top, -HEADROOM) + HEADROOM}
    budgeted = {top: allowed.get(top, 0) for top in grown}
    assert not grown, (
        f'{name} now loads {grown} modules of these packages at import time (budget {budgeted}): defer them to '
        'the code that needs them, or, if '
        'its common path needs them, rewrite the budget (module docstring) and say why'
    )
    # And no more project and third-party modules in all than its budget
    count = len(counted(modules))
    assert count <= entry['modules'] + HEADROOM, (
        f'{name} loads {count} project and third-party modules at import time, budget {entry["modules"]}: '
        'defer what its common path does not need, or rewrite the budget (module docstring) and say why'
    )


def write_budget() -> None:
    """Rewrite tests/import_budget.toml from what every handler loads now (the forbidden list is kept)."""
    forbidden = budget()['forbidden']['everywhere'] if BUDGET_FILE.exists() else []  # type: ignore[index]
    lines = [
        '# Import budget of every Lambda handler, checked by tests/unit/test_import_budget.py: what',
        "# `import functions.<name>.app` may load in a fresh process (the template's Globals environment).",
        '#   modules:  the project and third-party modules it loads (the test allows HEADROOM more)',
        '#   packages: the modules it loads per top-level package (project, third-party, heavy standard library);',
        '#             a package not listed may not be loaded at all, a listed one may grow by HEADROOM modules',
        '# Rewrite after a deliberate change, and review the diff (a jump of tens of modules is a heavy import on a',
        '# cold start; say in the commit why the common path needs it):',
        '#   .venv/bin/python -m tests.unit.test_import_budget --update',
        '',
        '[forbidden]',
        '# No handler imports these at import time: they belong to rarely used paths and are deferred there.',
        f'everywhere = {json.dumps(sorted(forbidden))}',
        '',
    ]
    for name, modules in sorted(measured().items()):
        table = ', '.join(f'{json.dumps(top)} = {n}' for top, n in packages(modules).items())
        lines += [f'[handlers.{name}]', f'modules = {len(counted(modules))}', f'packages = {{ {table} }}', '']
    BUDGET_FILE.write_text('\n'.join(lines))


if __name__ == '__main__':
    if sys.argv[1:] != ['--update']:
        sys.exit('usage: python -m tests.unit.test_import_budget --update')
    import tests.conftest  # noqa: F401  (the test environment the budget is measured in)

    write_budget()
    print(f'wrote {BUDGET_FILE.relative_to(Path.cwd()) if BUDGET_FILE.is_relative_to(Path.cwd()) else BUDGET_FILE}')
