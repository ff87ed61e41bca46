"""``safenum demo``: the whole service on the stack ``make run`` started, in a minute.

Only public interfaces: the HTTP API (a driver signs in with the development code),
the ``safenum`` CLI (a pool if there is none), and SIP through the running Asterisk
with SIPp as the caller, the texter and the driver's phone (``scenarios/``).
"""
