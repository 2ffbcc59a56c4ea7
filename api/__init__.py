"""The HTTP API and the ``ledger`` command line: thin, no SQL, no crypto."""
