"""Tests for requirements of the security list that no other test covered (see docs/SECURITY.md)."""
