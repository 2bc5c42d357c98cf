"""Development tools: the traffic generator, a local Kafka broker, the demo GeoIP
database and the load generator. Production code never imports them; the
application (the `insightlite` command) does, for `generate`, `demo` and `kafka`."""
