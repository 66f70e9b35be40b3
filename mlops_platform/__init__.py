"""Shared platform plumbing: the env's settings and the local launcher."""
