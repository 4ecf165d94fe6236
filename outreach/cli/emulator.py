"""`outreach emulator`: run the local SendGrid / Twilio emulator for demos and manual tests."""

from __future__ import annotations

import typer

from outreach.emulator.config import EmulatorConfig, Faults
from outreach.emulator.server import serve as serve_emulator

app = typer.Typer(help="A local emulator of the SendGrid and Twilio APIs.", no_args_is_help=True)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8025, help="Port to listen on."),
    events_to: str | None = typer.Option(None, "--events-to", help="SendGrid event webhook URL."),
    fault_rate: float = typer.Option(0.0, help="Share of send requests meeting a fault (0..1)."),
    retry_after: float = typer.Option(1.0, help="Seconds announced by injected 429s."),
    seed: int | None = typer.Option(None, help="Seed for reproducible faults and events."),
    event_delay: float = typer.Option(1.0, help="Seconds before a message's first event."),
    event_spacing: float = typer.Option(1.0, help="Seconds between a message's events."),
    events: bool = typer.Option(True, "--events/--no-events", help="Generate delivery events."),
    store_content: bool = typer.Option(True, help="Keep message bodies (off for large benchmarks)."),
    api_key: str | None = typer.Option(
        None, envvar="SENDGRID_API_KEY", help="The only SendGrid key accepted."
    ),
    account_sid: str = typer.Option(EmulatorConfig.twilio_account_sid, envvar="TWILIO_ACCOUNT_SID"),
    auth_token: str = typer.Option(EmulatorConfig.twilio_auth_token, envvar="TWILIO_AUTH_TOKEN"),
) -> None:
    """Serve the emulator until Ctrl-C; Twilio statuses go to each message's StatusCallback."""
    faults = Faults.spread(fault_rate, retry_after=retry_after)
    config = EmulatorConfig(
        sendgrid_api_key=api_key,
        twilio_account_sid=account_sid,
        twilio_auth_token=auth_token,
        sendgrid_webhook_url=events_to,
        events=events,
        event_delay=event_delay,
        event_spacing=event_spacing,
        sendgrid_faults=faults,
        twilio_faults=faults,
        seed=seed,
        store_content=store_content,
    )
    base = f"http://{host}:{port}"
    typer.echo(f"emulator on {base} (SendGrid host and Twilio base URL)")
    typer.echo(f"event webhook verification key: GET {base}/_emulator/public_key")
    serve_emulator(host, port, config)
