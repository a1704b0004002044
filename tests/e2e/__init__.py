"""End-to-end tests: a real Home Assistant, the provider sandbox and a real browser."""
