"""Widgets shared by the screens of the staff app."""
