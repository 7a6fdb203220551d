"""Intake: strict reading of case files and batches against the case contract."""
