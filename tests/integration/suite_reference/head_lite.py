"""Reference for examples/suite/medium/head-lite.md."""

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="head-lite")
    parser.add_argument("-n", type=int, default=10)
    parser.add_argument("file", nargs="?")
    args = parser.parse_args(argv)
    if args.n < 0:
        parser.error("N cannot be negative")
    if args.file is None:
        lines = sys.stdin.readlines()
    else:
        try:
            with open(args.file, encoding="utf-8", newline="") as fh:
                lines = fh.readlines()
        except OSError:
            print(f"head-lite: cannot open {args.file}", file=sys.stderr)
            return 1
    sys.stdout.write("".join(lines[: args.n]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
