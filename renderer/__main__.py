"""`python -m renderer {analyze,render,verify} ...`: the engine's command line."""

from __future__ import annotations

import argparse
import importlib
import sys

# Each subcommand lives beside the code it drives; the module exposes
# `add_arguments(parser)` and `main(args) -> int`.
SUBCOMMANDS = {
    "analyze": "renderer.cli.analyze",
    "render": "renderer.cli.render",
    "verify": "renderer.cli.verify",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m renderer")
    sub = parser.add_subparsers(dest="command", required=True)
    modules = {}
    for name, module_path in SUBCOMMANDS.items():
        module = importlib.import_module(module_path)
        modules[name] = module
        module.add_arguments(sub.add_parser(name, help=module.__doc__))
    args = parser.parse_args(argv)
    return int(modules[args.command].main(args))


if __name__ == "__main__":
    sys.exit(main())
