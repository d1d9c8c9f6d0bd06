"""The web console: pages served at /ui/, live updates from the event bus,
and the session layer its pages and websockets share. Every action is a CIM
operation run in-process through `cimom` as the signed-in user."""
