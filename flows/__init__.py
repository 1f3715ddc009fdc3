"""Prefect flows and the ``vgan`` command line; orchestration only, no model or I/O logic."""
