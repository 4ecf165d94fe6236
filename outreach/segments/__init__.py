"""Segments: who a campaign talks to, written as YAML rules and evaluated by the database.

load_library(directory)         parse and validate every `segments/*.yaml` (errors name file + line)
segment_query(library, name, d) one SQL SELECT of the members' `person_id` as of date `d`
refresh(connection, ...)        record who entered and who left since the previous refresh
members_on / new_members        read that history back
"""
