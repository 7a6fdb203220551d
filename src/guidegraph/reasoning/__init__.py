"""Reasoning: criteria, the compiled plan, verdicts and the result object."""
