"""Errors that reach the operator.

Every error a person can fix (a bad file, a bad setting) is an `OutreachError`: its message says
what is wrong, where, and what to do, in one line, so the CLI can print it without a traceback.

    OutreachError
    ├── ConfigurationError   a setting or configuration file is wrong
    ├── InputFileError       an input file cannot be used at all (nothing was written)
    └── DatabaseError        the database cannot be reached or is not migrated
"""


class OutreachError(Exception):
    """An error with a message meant for the operator, not a programmer."""

    exit_code = 1


class ConfigurationError(OutreachError):
    """A setting or a configuration file is wrong."""

    exit_code = 2


class InputFileError(OutreachError):
    """An input file cannot be used at all; nothing was written."""

    exit_code = 3


class DatabaseError(OutreachError):
    """The database cannot be reached or its schema is not up to date."""

    exit_code = 4
