"""Store: the RDF store (embedded or remote), SPARQL safety, the worker, the log."""
