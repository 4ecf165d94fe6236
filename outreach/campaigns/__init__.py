"""Campaigns: files in `campaigns/` that say which segment, which steps, when, and how hard to push.

definition   the typed shape of a campaign file (validated with file + line errors)
library      loads and cross-checks every campaign (segments and templates exist)
schedule     next runs of each campaign in Paris time, holidays marked, window warnings
dispatcher   which campaigns and follow-up steps are due at a given time
audience     the SQL audience of a step: segment members, or followers-up of a previous step
runner       one step of one wave, end to end, through the delivery pipeline
"""
