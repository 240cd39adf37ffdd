"""When the DAGs run, from the reporting calendar of the catalogue (``forms.yaml``, ``deadlines``).

Districts upload in the first weeks of a month: reports are due on the form's due day of the month after the
period (the 10th for monthly forms, the 15th after a quarter), and late ones trickle in until the escalation
``escalate_days_after`` days later. During that window the inbox is scanned every hour; outside it, every six
hours (a correction can still arrive any day). The monitoring DAG runs once a day in the morning, Vietnam time,
so reminders and notices arrive at the start of the working day.

The ingest DAG also runs whenever the upload page announces a delivered file (the asset
:data:`ingest.orchestration.assets.INBOX`): the timetable is the floor for the other doors (sftp, shares, the
mailbox) and for an announcement that did not get through.
"""

from __future__ import annotations

from airflow.sdk import AssetOrTimeSchedule
from airflow.timetables.trigger import CronTriggerTimetable, MultipleCronTriggerTimetable

from ingest.catalogue import Catalogue, load_catalogue
from ingest.orchestration.assets import INBOX

TIMEZONE = load_catalogue().timezone  # the zone of the deadlines (forms.yaml)
MONITOR_HOUR = 8  # local time


def reporting_window_days(cat: Catalogue) -> tuple[int, int]:
    """First and last day of the month in which reports are due or chased (1 to the latest due day plus the
    escalation delay, capped at 28 so that every month has it)."""
    last_due = max(form.due_day for form in cat.forms)
    return 1, min(28, last_due + cat.escalate_days_after)


def ingest_crons(cat: Catalogue) -> tuple[str, str]:
    """Hourly inside the reporting window, every six hours outside it."""
    first, last = reporting_window_days(cat)
    return f"0 * {first}-{last} * *", f"0 */6 {last + 1}-31 * *"


def ingest_timetable(cat: Catalogue) -> MultipleCronTriggerTimetable:
    return MultipleCronTriggerTimetable(*ingest_crons(cat), timezone=TIMEZONE)


def ingest_schedule(cat: Catalogue) -> AssetOrTimeSchedule:
    """The ingest DAG's schedule: the reporting calendar's timetable, or an upload announced."""
    return AssetOrTimeSchedule(timetable=ingest_timetable(cat), assets=[INBOX])


def monitor_timetable() -> CronTriggerTimetable:
    return CronTriggerTimetable(f"0 {MONITOR_HOUR} * * *", timezone=TIMEZONE)
