"""Channels: one small module per way of reaching a person, all behind `outreach.channels.base`."""
