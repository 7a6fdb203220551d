"""guidegraph: a knowledge-graph reasoner for clinical practice guidelines.

Guidelines are modelled as OWL/RDF, patient cases as RDF/JSON; SPARQL and SHACL
derive the applicable recommendations, each with PROV-O provenance.

Importing the package is deliberately cheap: heavy libraries (rdflib, pyshacl,
owlready2) are imported only by the submodules that need them.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
