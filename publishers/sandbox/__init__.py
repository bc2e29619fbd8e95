"""The sandbox EPP registry: a test double and demo tool that stands in for a registry."""
