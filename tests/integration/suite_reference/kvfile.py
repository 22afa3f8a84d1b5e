"""Reference for examples/suite/hard/kvfile.md."""

import argparse
import json
import sys
from pathlib import Path


class _Unreadable(Exception):
    pass


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kvfile")
    parser.add_argument("store")
    commands = parser.add_subparsers(dest="command", required=True)
    put = commands.add_parser("set")
    put.add_argument("key")
    put.add_argument("value")
    commands.add_parser("get").add_argument("key")
    commands.add_parser("del").add_argument("key")
    commands.add_parser("list")
    return parser


def _load(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise _Unreadable from None
    if not isinstance(data, dict):
        raise _Unreadable
    return data


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    path = Path(args.store)
    try:
        store = _load(path)
    except _Unreadable:
        print(f"kvfile: cannot read {args.store}", file=sys.stderr)
        return 3
    if args.command == "list":
        for key in sorted(store):
            print(f"{key}={store[key]}")
        return 0
    if args.command == "set":
        store[args.key] = args.value
        path.write_text(json.dumps(store), encoding="utf-8")
        return 0
    if args.key not in store:
        print(f"kvfile: no such key: {args.key}", file=sys.stderr)
        return 1
    if args.command == "get":
        print(store[args.key])
        return 0
    del store[args.key]
    path.write_text(json.dumps(store), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
