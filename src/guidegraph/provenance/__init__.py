"""Provenance: the PROV-O record of a run, its explanation and picture, stored runs."""
