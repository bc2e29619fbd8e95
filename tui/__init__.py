"""The support staff's face: the Textual app, and the `interlink` command (cli.py)."""
