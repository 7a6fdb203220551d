"""Serving: the SPARQL 1.1 endpoint, the reasoning API and the audit pages."""
