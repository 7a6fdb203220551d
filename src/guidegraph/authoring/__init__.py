"""Authoring: validation of guideline files before publishing."""
