"""Webhooks, the pure parts: event kinds, clock transitions, signing, retry schedule, targets."""
