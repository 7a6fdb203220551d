"""Every namespace and IRI base the code names, defined once.

Guideline content has its own IRIs in the data; these are the vocabularies the mechanism
reads and writes (W3C, SPAR) and the bases under which guidegraph names graphs, runs,
snapshots and log entries.
"""

# W3C and SPAR vocabularies
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
XSD = "http://www.w3.org/2001/XMLSchema#"
OWL = "http://www.w3.org/2002/07/owl#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
PROV = "http://www.w3.org/ns/prov#"
CITO = "http://purl.org/spar/cito/"
SD = "http://www.w3.org/ns/sparql-service-description#"
FORMATS = "http://www.w3.org/ns/formats/"
RDF_TYPE = RDF + "type"
RDF_LANG_STRING = RDF + "langString"
RDF_JSON = RDF + "JSON"
XSD_STRING = XSD + "string"
XSD_INTEGER = XSD + "integer"
OWL_IMPORTS = OWL + "imports"
SKOS_NOTATION = SKOS + "notation"
PROV_USED = PROV + "used"

# guidegraph's own
BASE = "https://w3id.org/guidegraph/"
GG = BASE + "ontology#"
GGSH = BASE + "shapes#"
GG_CASE = GG + "Case"
GRAPH_BASE = BASE + "graph/"
ONTOLOGY_GRAPH = GRAPH_BASE + "ontology/"
CASE_GRAPH = GRAPH_BASE + "case/"
AGENT_GRAPH = GRAPH_BASE + "agent/"
LOG_GRAPH = GRAPH_BASE + "log"
NO_GRAPH = GRAPH_BASE + "none"  # never written: names an empty dataset
SNAPSHOT_BASE = BASE + "snapshot/"
RUN_BASE = BASE + "run/"
CASE_BASE = BASE + "case/"
CONTEXT_BASE = BASE + "context/"
LOG_ENTRY_BASE = BASE + "log/entry/"
AUDIT_BASE = BASE + "audit/"
SOFTWARE_BASE = BASE + "software/"
