"""Calls to safe numbers: the call record (one row per finished call), its facts and queries.

No column or value here holds a phone number: callers appear only as the dialplan's
opaque per-number reference and number-independent key.
"""
