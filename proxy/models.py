"""Tables owned by the call side (call records). Filled in by the call-experience work."""

from __future__ import annotations
