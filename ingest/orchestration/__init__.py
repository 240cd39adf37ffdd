"""What the Airflow DAGs share: their timetables from the reporting calendar and the assets that link them."""
