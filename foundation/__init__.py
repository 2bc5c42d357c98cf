"""The foundation every other package stands on: settings, metrics, logs, time units
and the event contract. It imports nothing of the project."""
