"""The doors' tests run the real pipeline too: the Airflow metadata template of the integration tests."""

from tests.integration.helpers import airflow_home  # noqa: F401 - a pytest fixture
