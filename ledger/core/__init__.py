"""The pure core: canonical bytes, entries, keys, trust and verification.

Depends on nothing but the standard library, ``cryptography`` and ``rfc8785``,
so that an auditor can read and rebuild it.
"""
