"""Integration fixtures live in helpers.py so the tests can import its functions too."""

from tests.integration.helpers import airflow_home, chatroom, mailbox  # noqa: F401 - pytest fixtures
