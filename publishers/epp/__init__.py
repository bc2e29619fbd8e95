"""EPP (RFC 5730/5731/5733): model, client and server codecs, schema validation, TLS transport."""
