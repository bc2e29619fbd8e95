"""Interlink's records and rules: accounts, contacts, domains, audit and outbox."""
