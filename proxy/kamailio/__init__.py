"""Kamailio at the edge of a cluster: config rendering, supervision and its RPC.

- :mod:`proxy.kamailio.config` renders ``deploy/kamailio/`` for one edge;
- :mod:`proxy.kamailio.process` starts, stops and inspects that Kamailio;
- :mod:`proxy.kamailio.rpc` is the one client of its JSON-RPC socket (the only
  module that spells Kamailio RPC method names).
"""
