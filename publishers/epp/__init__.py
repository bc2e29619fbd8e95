"""EPP (RFC 5730/5731/5733): codec, schema validation, transport and the sandbox registry."""
