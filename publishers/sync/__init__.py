"""The registry sync worker (architecture §6): outbox entries -> EPP commands -> results."""
