"""Tests for Presence Bridge."""
