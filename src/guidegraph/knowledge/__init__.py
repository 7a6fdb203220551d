"""Knowledge: loading the ontology and guideline files, and reading query rows."""
