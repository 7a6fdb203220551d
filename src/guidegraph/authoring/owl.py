"""OWL 2 DL consistency of ontology + guidelines, with HermiT through owlready2.

Its own family because it is the one check that needs Java and takes seconds: the
orchestration can switch it off (``--no-owl``) without touching the others, and it is never
on the per-case path.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import tempfile
import time
from pathlib import Path

import rdflib
from rdflib import RDF, RDFS

from guidegraph.authoring.report import GGSH, Finding, node_name

__all__ = ["OWL_INCONSISTENT", "OWL_NOT_RUN", "owl_check"]

OWL = rdflib.OWL

# Sources of the results (described in authoring.ttl).
OWL_INCONSISTENT = GGSH["OwlConsistency-inconsistent"]
OWL_NOT_RUN = GGSH["OwlConsistency-notRun"]

_DISJOINT_HINT = """
SELECT DISTINCT ?x ?a ?b WHERE {
    { ?a owl:disjointWith ?b } UNION { ?b owl:disjointWith ?a }
    ?x rdf:type/rdfs:subClassOf* ?a .
    ?x rdf:type/rdfs:subClassOf* ?b .
    FILTER (STR(?a) < STR(?b))
}"""


def owl_check(
    knowledge: rdflib.Graph,
) -> tuple[list[Finding], float | None]:
    """Run HermiT on ontology + guidelines; returns findings and HermiT's wall time."""
    java = shutil.which("java")
    if java is None:
        return [
            (
                OWL_NOT_RUN,
                "Warning",
                None,
                "Java not found: OWL consistency check skipped. Install a Java 17+ runtime "
                "(java on PATH) to run it, or pass --no-owl to skip it knowingly.",
                None,
            )
        ], None

    import owlready2

    merged = rdflib.Graph()
    for triple in knowledge:
        if triple[1] != OWL.imports:  # never follow imports: check exactly what was loaded
            merged.add(triple)
    owlready2.JAVA_EXE = java
    with tempfile.TemporaryDirectory(prefix="guidegraph-owl-") as tmp:
        nt = Path(tmp) / "knowledge.nt"
        merged.serialize(destination=str(nt), format="nt", encoding="utf-8")
        world = owlready2.World()
        # owlready2 prints a warning per punned fact property (a property that is also a
        # gg:FactProperty individual, which OWL 2 allows); keep them off the user's stderr.
        with contextlib.redirect_stderr(io.StringIO()):
            onto = world.get_ontology(nt.as_uri()).load(format="ntriples")
        start = time.perf_counter()
        try:
            # Datatypes outside the OWL 2 datatype map are refused, not skipped: the
            # ontology must stay within OWL 2 DL.
            owlready2.sync_reasoner_hermit(
                onto, infer_property_values=False, debug=0, ignore_unsupported_datatypes=False
            )
        except owlready2.OwlReadyInconsistentOntologyError:
            elapsed = time.perf_counter() - start
            return _inconsistency_results(knowledge), elapsed
        except owlready2.OwlReadyJavaError as exc:
            detail = str(exc).strip().splitlines()[-1] if str(exc).strip() else "unknown error"
            return [
                (
                    OWL_NOT_RUN,
                    "Warning",
                    None,
                    f"HermiT could not check OWL consistency ({detail}): fix the reported "
                    "construct or pass --no-owl to skip the check knowingly.",
                    None,
                )
            ], time.perf_counter() - start
        finally:
            world.close()
        return [], time.perf_counter() - start


def _inconsistency_results(
    knowledge: rdflib.Graph,
) -> list[Finding]:
    """Name the individuals typed with disjoint classes when that explains the inconsistency."""
    out: list[Finding] = []
    for x, a, b in knowledge.query(_DISJOINT_HINT, initNs={"owl": OWL, "rdf": RDF, "rdfs": RDFS}):
        out.append(
            (
                OWL_INCONSISTENT,
                "Violation",
                x,
                f"The OWL ontology is inconsistent (HermiT): {node_name(knowledge, x)} is both "
                f"a {node_name(knowledge, a)} and a {node_name(knowledge, b)}, which are "
                "disjoint. Keep only the type it should have.",
                None,
            )
        )
    if not out:
        out.append(
            (
                OWL_INCONSISTENT,
                "Violation",
                None,
                "The OWL ontology is inconsistent (HermiT). Look for individuals with "
                "disjoint types, values outside a property's range or a functional property "
                "with two values; "
                "bisect by validating guideline files one at a time.",
                None,
            )
        )
    return out
