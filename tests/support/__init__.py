"""Shared test support: server processes, clients, schema checks."""
