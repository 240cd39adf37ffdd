"""``python -m devtools <command>``: the development tools (the demo inbox, the generated files)."""

from __future__ import annotations

import argparse
import logging
import sys

from ingest import settings


def _demo(args: argparse.Namespace) -> int:
    from devtools.demo import generate_demo

    inbox = settings.inbox_dir()
    if args.if_empty and inbox.exists() and any(inbox.rglob("*")):
        logging.getLogger("ingest").info("inbox %s is not empty: demo data not written", inbox)
        return 0
    manifest = generate_demo(inbox, year=args.year, seed=args.seed)
    settings.data_dir().mkdir(parents=True, exist_ok=True)  # the inbox may be elsewhere (SECTORSTATS_INBOX_DIR)
    (settings.data_dir() / "demo_manifest.json").write_text(manifest.to_json(), encoding="utf-8")
    print(f"demo: wrote {len(manifest.files)} files into {inbox}")
    return 0


def _generate(args: argparse.Namespace) -> int:
    from devtools.generate import write_generated

    written = write_generated()
    print(f"generated: {len(written)} written{': ' if written else ' (everything up to date)'}{', '.join(written)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="fill the inbox with realistic demo submissions")
    p.add_argument("--if-empty", action="store_true", help="do nothing when the inbox already holds files")
    p.add_argument("--year", type=int, default=2024)
    p.add_argument("--seed", type=int, default=2024)
    p.set_defaults(func=_demo)
    sub.add_parser("generate", help="write everything generated from the catalogue and the table declarations: "
                   "Great Expectations suites, domain mart models and YAML, docs/problems.md, docs/raw_schema.md"
                   ).set_defaults(func=_generate)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
