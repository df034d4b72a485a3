"""The unit layer: pure functions, no server, no database, no Redis; each file is one
piece's spec, readable on its own and run in well under a second."""
