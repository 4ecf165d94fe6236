"""outreach: proactive outreach campaigns for CARSAT Centre-Ouest.

The package is the library; the CLI (`outreach.cli`) and the Prefect flows (`flows/`) are thin layers
over it, so that tests can call the same functions the operators trigger.
"""

__version__ = "0.1.0"
