"""`mlops`: start the local platform, see and move what it serves (status, rollback, promote),
predict, materialize, toggle layers, check the traffic split, and (through the `./mlops` script,
which installs what they need first) run the tests and the benchmarks.

The env's settings are loaded once, here, and passed to the verb. This module and the verbs'
modules import only the standard library at their top: `--help` and `--version` answer before
anything is installed.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from mlops_platform.verbs import VERBS

REPO_ROOT = Path(__file__).resolve().parent.parent
EXIT_CODES = """exit codes: 0 done; 1 the command ran and found a problem (e.g. `traffic`: a share outside
its interval, or failed requests); 2 it could not run (bad arguments or settings, a server it needs
unreachable); 130 interrupted (Ctrl-C)."""
ENV_HELP = "env under envs/ (default: $MLOPS_ENV or dev); before or after the command"
# programs of their own, run by the `./mlops` script (test, bench: it installs Debian packages and
# venvs first) or in a process of their own (demo): listed here so that help shows them
SCRIPT_VERBS = {
    "test": "run the whole test suite (installs what it needs first; other options are pytest's)",
    "bench": "run the benchmarks into bench/results/ (`./mlops bench --help` for its options)",
}
SEPARATE_PROGRAMS = {"demo": "run the one-commit flow headless on a throwaway platform (--releases N)"}
HELP_FLAGS = {"-h", "--help"}


def version() -> str:
    """The installed package's version, or the project file's before anything is installed."""
    import importlib.metadata

    try:
        return importlib.metadata.version("mlops-platform")
    except importlib.metadata.PackageNotFoundError:
        import tomllib

        return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]


def build_parser() -> argparse.ArgumentParser:
    """Every verb and flag (the CLI reference is generated from it)."""
    parser = argparse.ArgumentParser(
        prog="mlops", description=__doc__.split("\n\n")[0], epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    shown = f"mlops {version()}"
    parser.add_argument("--version", action="version", version=shown)
    parser.add_argument("--env", default=None, help=ENV_HELP)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands: dict[str, argparse.ArgumentParser] = {}
    for name, verb in VERBS.items():
        command = commands[name] = sub.add_parser(name, help=verb.HELP, description=verb.HELP)
        verb.arguments(command)
        command.add_argument("--env", default=argparse.SUPPRESS, help=ENV_HELP)  # SUPPRESS: keeps one given before
    for name, help_text in {**SEPARATE_PROGRAMS, **SCRIPT_VERBS}.items():
        command = sub.add_parser(name, help=help_text, description=help_text, add_help=False)
        if name == "test":
            command.add_argument(
                "--fast", action="store_true", help="only the fast tier: the tests that start no real process"
            )
            commands[name] = command
    for command in commands.values():  # --version answers anywhere on the line
        try:
            command.add_argument("--version", action="version", version=shown)
        except argparse.ArgumentError:  # the verb's own --version (replay's: the model version)
            pass
    parser.commands = commands  # for the CLI reference (demo and bench: their own programs print their help)
    return parser


def main(argv: list[str] | None = None) -> int:
    """The `mlops` command: a reader that stops reading (`| head`) or a Ctrl-C ends it quietly."""
    try:
        return _main(sys.argv[1:] if argv is None else argv)
    except BrokenPipeError:
        try:  # nothing more can be printed: flushing at exit must not raise again
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _main(argv: list[str]) -> int:
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if args.command in SCRIPT_VERBS or args.command in SEPARATE_PROGRAMS:
        return _program(parser, args, rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    from mlops_base.settings import SettingsError, load_settings  # pydantic: only once a verb runs

    try:
        settings = load_settings(args.env)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return VERBS[args.command].run(settings, args)


def _program(parser: argparse.ArgumentParser, args: argparse.Namespace, rest: list[str]) -> int:
    """test, bench, demo: programs of their own. Their help answers here, installing nothing."""
    name = args.command
    if HELP_FLAGS & set(rest):
        if name == "test":
            parser.commands["test"].print_help()
            return 0
        try:  # bench and demo print their own options, once the environment is installed
            import dagster  # noqa: F401
        except ImportError:
            print(f"mlops {name}: {({**SEPARATE_PROGRAMS, **SCRIPT_VERBS})[name]}")
            print(f"(its options are listed once ./mlops has installed the environment: ./mlops {name} --help)")
            return 0
        os.execv(sys.executable, [sys.executable, "-m", name, "--help"])
    if name in SEPARATE_PROGRAMS:  # the demo lives outside the product: its own package, its own process
        os.execv(sys.executable, [sys.executable, "-m", name, *rest])
    fast = ["--fast"] if getattr(args, "fast", False) else []
    script = [str(REPO_ROOT / "mlops"), name, *fast, *rest]
    os.execv(script[0], script)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
