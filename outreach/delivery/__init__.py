"""Delivery: who gets which message on which channel, when, and exactly once.

policy     the channel decision for one person at one step (pure, documented reasons)
pressure   contact-pressure limits counted across campaigns and channels
windows    when a channel may send (working days, hours, French public holidays)
facts      what the policy needs to know about a chunk of people, read in a few queries
pipeline   plan → decide → claim → render → send → record, in batches, rerun-safe
"""
