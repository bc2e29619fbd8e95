"""One module per group of `interlink` sub-commands; cli.py wires them together."""
