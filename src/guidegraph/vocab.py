"""Every namespace and IRI base the code names, defined once.

Guideline content has its own IRIs in the data; these are the vocabularies the mechanism
reads and writes (W3C, SPAR) and the bases under which guidegraph names graphs, runs,
snapshots and log entries.
"""

_W3 = "http://www.w3.org/"

# W3C and SPAR vocabularies
RDF, RDFS, XSD, OWL, SKOS = (_W3 + path for path in (
    "1999/02/22-rdf-syntax-ns#", "2000/01/rdf-schema#", "2001/XMLSchema#", "2002/07/owl#",
    "2004/02/skos/core#"))
PROV, SD, FORMATS = (_W3 + "ns/" + path for path in (
    "prov#", "sparql-service-description#", "formats/"))
CITO = "http://purl.org/spar/cito/"

# terms the mechanism reads or writes
RDF_TYPE, RDF_LANG_STRING, RDF_JSON = (RDF + name for name in ("type", "langString", "JSON"))
XSD_STRING, XSD_INTEGER = XSD + "string", XSD + "integer"
OWL_IMPORTS, SKOS_NOTATION, PROV_USED = OWL + "imports", SKOS + "notation", PROV + "used"

DCTERMS_IS_PART_OF = "http://purl.org/dc/terms/isPartOf"

# guidegraph's own
BASE = "https://w3id.org/guidegraph/"
GG, GGSH = BASE + "ontology#", BASE + "shapes#"
GG_CASE = GG + "Case"
(SNAPSHOT_BASE, RUN_BASE, CASE_BASE, CONTEXT_BASE, LOG_ENTRY_BASE, AUDIT_BASE,
 SOFTWARE_BASE, BATCH_BASE) = (BASE + path + "/" for path in (
    "snapshot", "run", "case", "context", "log/entry", "audit", "software", "batch"))

# named graphs of the store; NO_GRAPH is never written: it names an empty dataset
GRAPH_BASE = BASE + "graph/"
ONTOLOGY_GRAPH, CASE_GRAPH, AGENT_GRAPH = (GRAPH_BASE + name + "/" for name in (
    "ontology", "case", "agent"))
LOG_GRAPH, NO_GRAPH = GRAPH_BASE + "log", GRAPH_BASE + "none"
#: names the graphs the embedded store's default graph copies (guidegraph.store.current)
COPY_GRAPH = GRAPH_BASE + "default-copy"
KNOWLEDGE_COPY, COPIES_GRAPH = GG + "KnowledgeCopy", GG + "copiesGraph"
