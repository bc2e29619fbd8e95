"""Modal dialogs of the staff app."""
