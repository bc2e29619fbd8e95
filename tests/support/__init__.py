"""Helpers the tests share: builders, servers, waits; imported by tests, never fixtures."""
