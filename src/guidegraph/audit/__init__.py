"""Audit: findings over knowledge and stored runs, and guideline version diffs."""
