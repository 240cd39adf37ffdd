"""``python -m ingest <command>``: the command line around the library (the DAGs call the same code)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from ingest import settings


def _templates(args: argparse.Namespace) -> int:
    from ingest.tell.official_forms import write_templates

    for path in write_templates(Path(args.out)):
        print(path)
    return 0


def _ingest(args: argparse.Namespace) -> int:
    from ingest.parse.stage import period_range
    from ingest.pipeline import run_ingest

    periods = period_range(args.from_period, args.to_period)
    if periods and not args.reprocess:
        raise SystemExit("--from/--to choose what to reprocess: add --reprocess")
    result = run_ingest(reprocess=args.reprocess, progress=sys.stderr.isatty(), periods=periods)
    for stage, counts in result.items():
        print(stage, counts)
    return 0


def _transform(args: argparse.Namespace) -> int:
    from ingest.marts.dbt import build_marts, run_unit_tests

    counts = (run_unit_tests if args.unit_tests else build_marts)(settings.as_of())
    print(counts)
    return 0


def _alerts(args: argparse.Namespace) -> int:
    from ingest.marts.calendar import CalendarOutOfDate
    from ingest.tell.alerts import dispatch, owed

    if args.pending:
        from ingest import warehouse

        try:
            with warehouse.connect(read_only=True) as con:
                frame = owed(con)
        except Exception as exc:  # no warehouse yet, or it is busy being written
            print(f"alerts: cannot read the warehouse: {str(exc).splitlines()[0]}", file=sys.stderr)
            return 2
        if frame.empty:
            print("no alert delivery is owed")
            return 0
        columns = ["created_at", "kind", "channel", "status", "attempts", "next_attempt_at", "alert_id", "last_error"]
        print(frame[columns].to_string(index=False, max_colwidth=60))
        print(f"{len(frame)} deliveries owed, the oldest since {frame['created_at'].min()} (UTC)")
        return 1
    try:
        print(dispatch(settings.as_of()))
    except CalendarOutOfDate as exc:
        print(f"alerts: {exc}", file=sys.stderr)
        return 2
    return 0


def _mailbox(args: argparse.Namespace) -> int:
    """Check the mailbox connection: log in, and say what waits in each folder; nothing is taken or moved."""
    from ingest.doors import mailbox

    config = mailbox.mailbox_config()
    if config is None:
        print(f"mailbox: no Airflow connection {mailbox.mailbox_conn_id()!r}: the mailbox door is closed",
              file=sys.stderr)
        return 1
    try:
        with mailbox.session(config) as imap:
            counts = imap.counts([config.taken_folder, config.quarantine_folder])
            print(f"mailbox {config.name} (UIDVALIDITY {imap.uidvalidity}): {len(imap.uids())} message(s) waiting")
    except Exception as exc:  # refused, unreachable, wrong password: say which
        print(f"mailbox {config.name}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    for folder, n in counts.items():
        print(f"  {folder}: {'(not created yet)' if n is None else f'{n} message(s)'}")
    return 0


def _accounts(args: argparse.Namespace) -> int:
    """The upload page's accounts: add (the password is printed once), list, disable, enable, a new password."""
    from ingest.catalogue import load_catalogue
    from ingest.doors.upload.accounts import DEFAULT_PROVINCE_NAME, PROVINCE, UNIT, AccountError, AccountStore

    store = AccountStore()
    try:
        if args.action == "add":
            if args.unit:
                cat = load_catalogue()
                if cat.unit(args.unit) is None or args.unit == cat.province_code:
                    print(f"accounts: there is no unit {args.unit!r} in the catalogue", file=sys.stderr)
                    return 2
                account, password = store.add(args.name or args.unit, UNIT, args.unit)
            else:
                account, password = store.add(args.name or DEFAULT_PROVINCE_NAME, PROVINCE, None)
            print(f"account {account.name} ({account.role}{' ' + account.unit_code if account.unit_code else ''}) "
                  f"added; its password, shown this once:\n{password}")
        elif args.action == "list":
            for a in store.accounts():
                print(f"{a.name:<12} {a.role:<9} {a.unit_code or '':<6} {'disabled' if a.disabled else 'active'}")
        elif args.action in ("disable", "enable"):
            account = store.set_disabled(args.name, args.action == "disable")
            print(f"account {account.name} {args.action}d")
        elif args.action == "password":
            print(f"account {args.name}: new password, shown this once (its sessions are ended):\n"
                  f"{store.new_password(args.name)}")
    except AccountError as exc:
        print(f"accounts: {exc}", file=sys.stderr)
        return 2
    return 0


def _upload_page(args: argparse.Namespace) -> int:
    from ingest.doors.upload.app import serve

    serve(args.host, args.port)
    return 0


def _monitor(args: argparse.Namespace) -> int:
    from ingest.marts.calendar import build_calendar

    print(build_calendar(settings.as_of()))
    return 0


def _summary(args: argparse.Namespace) -> int:
    from ingest.tell.summary import write_summary

    print(write_summary(settings.as_of()))
    return 0


def _province_report(args: argparse.Namespace) -> int:
    """The province's filled-in form(s) for one period, from the marts as last built; the paths written."""
    from ingest.catalogue import load_catalogue
    from ingest.parse.stage import period_range
    from ingest.tell.province_report import ProvinceReportError, form_period, write_province_reports

    catalogue = load_catalogue()
    forms = args.form or list(catalogue.form_codes)
    unknown = [f for f in forms if f not in catalogue.form_codes]
    if unknown:
        print(f"province-report: no form {', '.join(map(repr, unknown))} in the catalogue "
              f"(forms: {', '.join(catalogue.form_codes)})", file=sys.stderr)
        return 2
    try:
        # --month-of-period: --period 2024-12 for every form, a quarterly form's being the quarter that contains it
        month = period_range(args.period, args.period)[0] if args.month_of_period else None
        reports = [(code, form_period(catalogue.form(code), month) if month else args.period) for code in forms]
        paths = write_province_reports(reports)
    except (ProvinceReportError, ValueError) as exc:
        print(f"province-report: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # no warehouse yet, or it is being written
        print(f"province-report: cannot read the warehouse: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    for path in paths:
        print(path)
        print(path.with_suffix(".txt"))
    return 0


def _status_page(args: argparse.Namespace) -> int:
    from ingest.tell.status_page import write_status_page

    print(write_status_page(settings.as_of()))
    return 0


def _indicator_page(args: argparse.Namespace) -> int:
    from ingest.tell.indicator_page import write_indicator_page

    print(write_indicator_page(settings.as_of(), year=args.year))
    return 0


def _data_docs(args: argparse.Namespace) -> int:
    from ingest.catalogue import load_catalogue
    from ingest.check.validate import Validator

    print(Validator(load_catalogue()).build_data_docs())
    return 0


def _warehouse_roles(args: argparse.Namespace) -> int:
    from ingest.warehouse.roles import RolesError, setup_roles_from_environment

    try:
        done = setup_roles_from_environment()
    except RolesError as exc:
        print(f"warehouse-roles: {exc}", file=sys.stderr)
        return 2
    print(f"warehouse {done['database']}: schemas owned by {done['pipeline_role']}, "
          f"marts readable by {done['analyst_role']}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ingest", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("templates", help="write the blank official forms (.xlsx) for the districts")
    p.add_argument("--out", default=str(settings.reports_dir() / "templates"))
    p.set_defaults(func=_templates)
    p = sub.add_parser("ingest", help="archive, parse, validate and load the inbox (without Airflow)")
    p.add_argument("--reprocess", action="store_true", help="parse every archived file again")
    p.add_argument("--from", dest="from_period", metavar="YYYY-MM",
                   help="with --reprocess: only reports for periods from this month")
    p.add_argument("--to", dest="to_period", metavar="YYYY-MM",
                   help="with --reprocess: only reports for periods up to this month")
    p.set_defaults(func=_ingest)
    transform = sub.add_parser("transform", help="dbt build: the seeds, models and data tests")
    transform.add_argument("--unit-tests", action="store_true",
                           help="run dbt's unit tests of the SQL instead (fixed inputs; development and CI)")
    transform.set_defaults(func=_transform)
    sub.add_parser("mailbox", help="check the department's mailbox (the Airflow connection SECTORSTATS_IMAP_CONN_ID): "
                   "log in and count what waits in each folder, taking nothing").set_defaults(func=_mailbox)
    p = sub.add_parser("alerts", help="record and send new alerts (problems, and the deadlines of the reporting "
                       "calendar built for SECTORSTATS_AS_OF by `monitor`), and retry those owed")
    p.add_argument("--pending", action="store_true",
                   help="list the deliveries still owed (an outage) and send nothing; exit status 1 if any")
    p.set_defaults(func=_alerts)
    p = sub.add_parser("accounts", help="the upload page's accounts (kept in $SECTORSTATS_DATA_DIR/doors/): add, "
                       "list, disable, enable, password")
    actions = p.add_subparsers(dest="action", required=True)
    a = actions.add_parser("add", help="add a unit's or the province's account and print its password once")
    who = a.add_mutually_exclusive_group(required=True)
    who.add_argument("--unit", metavar="CODE", help="the unit's code (the account is named by it)")
    who.add_argument("--province", action="store_true", help="the province's account (sees every unit)")
    a.add_argument("--name", help="the login name (default: the unit's code, or 'province')")
    actions.add_parser("list", help="every account, its unit and whether it is active")
    for action, text in (("disable", "disable an account and end its sessions"), ("enable", "enable it again"),
                         ("password", "give an account a new password (printed once) and end its sessions")):
        actions.add_parser(action, help=text).add_argument("name")
    p.set_defaults(func=_accounts)
    p = sub.add_parser("upload-page", help="serve the districts' upload page (beside Airflow, its own process)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: behind a reverse "
                   "proxy)")
    p.add_argument("--port", type=int, default=8090)
    p.set_defaults(func=_upload_page)
    sub.add_parser("monitor", help="build the reporting calendar as of SECTORSTATS_AS_OF (default today): "
                   "marts.fct_report_status").set_defaults(func=_monitor)
    sub.add_parser("summary", help="print the per-form summary").set_defaults(func=_summary)
    p = sub.add_parser("province-report", help="write the province's filled-in form(s) for a period from the marts "
                       "(data/reports/province/<period>/<form>_toan_tinh.xlsx and .txt, the narrative)")
    p.add_argument("--form", action="append", metavar="CODE",
                   help="the form, e.g. 01/LĐVL-H (repeat for several; default: every form of the catalogue)")
    p.add_argument("--period", required=True, metavar="PERIOD",
                   help="the form's period: YYYY-MM for a monthly form, YYYY-Qn for a quarterly one (2024-Q4)")
    p.add_argument("--month-of-period", action="store_true",
                   help="--period is a month (YYYY-MM): each form's own period that contains it (its quarter "
                        "for a quarterly form)")
    p.set_defaults(func=_province_report)
    sub.add_parser("status-page", help="write reports/status.html: the reporting matrix as of SECTORSTATS_AS_OF, "
                   "the last load's problems, recent alerts").set_defaults(func=_status_page)
    p = sub.add_parser("indicator-page", help="write reports/indicators.html: the key indicators of a year, by unit "
                       "and for the province, charts drawn from the marts")
    p.add_argument("--year", type=int, default=None,
                   help="the year drawn (default: the latest with numbers up to SECTORSTATS_AS_OF)")
    p.set_defaults(func=_indicator_page)
    sub.add_parser("data-docs", help="build Great Expectations Data Docs into $SECTORSTATS_DATA_DIR/gx/data_docs"
                   ).set_defaults(func=_data_docs)
    sub.add_parser("warehouse-roles", help="Postgres warehouse: create the database, the schemas owned by the "
                   "pipeline's role and the analysts' read-only role (SECTORSTATS_WAREHOUSE_ADMIN_URL, "
                   "SECTORSTATS_WAREHOUSE_URL, SECTORSTATS_ANALYST_ROLE, SECTORSTATS_ANALYST_PASSWORD)"
                   ).set_defaults(func=_warehouse_roles)
    args = parser.parse_args(argv)
    level = logging.INFO if args.verbose else logging.WARNING
    fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    logging.basicConfig(level=level, format=fmt)
    # the library's own logger keeps its handler and level: importing Airflow (a connection looked up, the mailbox's
    # or the alerts') reconfigures the root logger to AIRFLOW__LOGGING__LOGGING_LEVEL, which silenced `-v`
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(fmt))
    library = logging.getLogger("ingest")
    library.handlers[:] = [handler]
    library.setLevel(level)
    library.propagate = False
    return args.func(args)
