"""Tracking and feedback: provider webhooks, own links, engagement facts and their effect on people.

`events` defines the one vocabulary; `sendgrid`, `twilio` and `own` turn what arrives into it;
`ingest` stores it idempotently and `feedback` turns it into suppressions, opt-outs and digital
affinity; `app` is the public web service and `links` builds the URLs messages carry.
"""
