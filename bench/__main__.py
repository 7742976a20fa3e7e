from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
import traceback

from bench import MODULES


def _run_module(module_name: str, names: list[str]) -> int:
    """Run one benchmark module in this process; print its figures. Returns failures (0 or 1)."""
    if "." not in module_name:  # `--module render` for `--module bench.render`
        module_name = f"bench.{module_name}"
    short = module_name.split(".", 1)[1]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            return 0  # that benchmark has not been written yet
        raise
    try:
        for figure in module.run(names if names and short not in names else None):
            print(json.dumps(figure.as_dict()), flush=True)
    except Exception:  # a broken benchmark must not hide the others' figures
        traceback.print_exc(file=sys.stderr)
        return 1
    return 0


def _wanted(module_name: str, names: list[str]) -> bool:
    if not names:
        return True
    short = module_name.split(".", 1)[1]
    if short in names:
        return True
    try:
        figures = getattr(importlib.import_module(module_name), "FIGURES", ())
    except ModuleNotFoundError:
        return False
    return any(name.startswith(prefix) for name in figures for prefix in names)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("names", nargs="*", help="figure names or prefixes, or module names")
    parser.add_argument("--json", action="store_true", help="one JSON object per line only")
    parser.add_argument("--module", help=argparse.SUPPRESS)  # internal: run one module here
    args = parser.parse_args(argv)
    if args.module:
        return _run_module(args.module, args.names)
    unknown = [name for name in args.names if not any(_wanted(m, [name]) for m in MODULES)]
    if unknown:  # a typo must not pass for a benchmark that measured nothing
        sys.stderr.write(f"bench: no figure or module is named {', '.join(unknown)}\n")
        return 2
    failed = 0
    for module_name in MODULES:
        if not _wanted(module_name, args.names):
            continue
        # Each module in a fresh interpreter: one benchmark's heap, caches, threads and allocator
        # settings (bench.render switches to what a render worker uses) must not colour the
        # figures of the next.
        done = subprocess.run(
            [sys.executable, "-m", "bench", "--module", module_name, *args.names], check=False
        )
        failed += done.returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
