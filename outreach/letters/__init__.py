"""Postal letters after they leave: what comes back from La Poste."""
