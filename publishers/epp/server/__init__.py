"""The server side of EPP: reads client commands, builds greetings and responses."""
