"""The collector: browsers post batches of events, which go to Kafka's raw_events.

from api.collector.app import create_app
"""
