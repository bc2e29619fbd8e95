"""The client side of EPP: builds commands, reads the server's greetings and responses."""
