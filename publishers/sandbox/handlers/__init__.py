"""The sandbox's command handlers, one module per EPP object; each returns a typed Reply."""
