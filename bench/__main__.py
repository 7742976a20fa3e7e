from __future__ import annotations

import argparse
import importlib
import json
import sys
import traceback

from bench import MODULES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("names", nargs="*", help="figure names or prefixes, or module names")
    parser.add_argument("--json", action="store_true", help="one JSON object per line only")
    args = parser.parse_args(argv)
    failed = 0
    for module_name in MODULES:
        short = module_name.split(".", 1)[1]
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue  # that benchmark has not been written yet
            raise
        wanted = getattr(module, "FIGURES", ())
        if (
            args.names
            and short not in args.names
            and not any(name.startswith(prefix) for name in wanted for prefix in args.names)
        ):
            continue
        try:
            for figure in module.run(
                args.names if args.names and short not in args.names else None
            ):
                print(json.dumps(figure.as_dict()), flush=True)
        except Exception:  # a broken benchmark must not hide the others' figures
            failed += 1
            traceback.print_exc(file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
