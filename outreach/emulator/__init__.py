"""A local emulator of the SendGrid v3 and Twilio Messages APIs, for tests, demos and benchmarks.

The real SDKs talk to it over HTTP, so the code path is the production one. Start it with
`outreach emulator serve`, or in tests with `outreach.emulator.running.running_emulator(config)`.
"""

from outreach.emulator.app import create_app
from outreach.emulator.config import EmailEventRates, EmulatorConfig, Faults, SmsEventRates
from outreach.emulator.server import serve

__all__ = ["EmailEventRates", "EmulatorConfig", "Faults", "SmsEventRates", "create_app", "serve"]
