"""Shared fixtures: a real Kafka broker started once for the session (see
tests/kafka_fixture.py)."""

pytest_plugins = ["tests.kafka_fixture"]
