"""`python -m genesys_sandbox`: run the sandbox in the foreground until Ctrl-C.

Prints the base URL and the client credentials to use. Every SandboxSettings field has a flag;
`--profile pessimistic` starts from a named bundle of knobs (settings.PROFILES) and explicit flags win.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields
from datetime import datetime

from genesys_sandbox.server import SandboxServer, serve_until_signalled
from genesys_sandbox.settings import PROFILES, SandboxSettings


def build_parser(profile: str = "faithful") -> argparse.ArgumentParser:
    """The CLI's parser; every field's default is its value in `profile`, so explicit flags override it."""
    parser = argparse.ArgumentParser(prog="python -m genesys_sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 = any free port)")
    parser.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        default=profile,
        help="named bundle of knobs to start from (default faithful = the documented behaviour)",
    )
    defaults = SandboxSettings.for_profile(profile)
    for item in fields(SandboxSettings):
        flag = "--" + item.name.replace("_", "-")
        default = getattr(defaults, item.name)
        if item.name == "now":
            parser.add_argument(flag, default=None, help="clock start, ISO-8601 (default: real time)")
        elif item.name == "agents":
            parser.add_argument(flag, type=int, default=None, help="number of agents (default customers/40)")
        else:
            parser.add_argument(
                flag, type=_parser_for(str(item.type)), default=default, help=f"default {default}"
            )
    return parser


def _parser_for(annotation: str):
    """The flag's value parser for a field annotated `int`, `float`, `str` or `bool`, optionally `| None`
    (then the word `none` gives None)."""
    optional = annotation.endswith(" | None")
    base = annotation.removesuffix(" | None")
    kinds = {"int": int, "float": float, "str": str, "bool": _boolean}
    if base not in kinds:
        raise TypeError(f"SandboxSettings field type {annotation!r} has no command-line form")
    kind = kinds[base]

    def parse(text: str):
        return None if optional and text.strip().lower() == "none" else kind(text)

    return parse


def _boolean(text: str) -> bool:
    if text.strip().lower() in ("1", "true", "yes", "on"):
        return True
    if text.strip().lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"not a boolean: {text!r}")


def _profile_of(argv: list[str] | None) -> str:
    """The --profile given (parsed first, because it sets the defaults of every other flag)."""
    first = argparse.ArgumentParser(add_help=False)
    first.add_argument("--profile", choices=sorted(PROFILES), default="faithful")
    return first.parse_known_args(argv)[0].profile


def main(argv: list[str] | None = None) -> int:
    profile = _profile_of(argv)
    args = build_parser(profile).parse_args(argv)
    values = {item.name: getattr(args, item.name) for item in fields(SandboxSettings)}
    if values["now"]:
        values["now"] = datetime.fromisoformat(values["now"].replace("Z", "+00:00"))
    settings = SandboxSettings.from_dict(values)
    server = SandboxServer(settings, host=args.host, port=args.port)
    server.start()
    summary = server.org.summary()
    print(f"Genesys Cloud sandbox listening on {server.base_url}", flush=True)
    print(f"client_id={settings.client_id} client_secret={settings.client_secret}", flush=True)
    print(
        json.dumps({"baseUrl": server.base_url, "profile": profile, "counts": summary["counts"]}), flush=True
    )
    return serve_until_signalled(server)


if __name__ == "__main__":
    sys.exit(main())
