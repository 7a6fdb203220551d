"""Synthetic guidelines and cases for the tests and benchmarks, as data the real mechanism
loads.

``make_data_root(dir, R)`` writes a complete data folder (ontology with a synthetic case
vocabulary, its case contract and JSON-LD context, the derive queries, and one guideline of
R recommendations with 3–5 criteria each over twelve facts); point GUIDEGRAPH_DATA at it.
Nothing here is clinical: facts are f01…f12, actions a1…a5.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NS = "https://w3id.org/guidegraph/vocab/synthetic#"
LEVEL = "https://w3id.org/guidegraph/vocab/synthetic/level/"
ACTION = "https://w3id.org/guidegraph/vocab/synthetic/action/"
INTEGER_FACTS = [f"f{i:02d}" for i in range(1, 7)]      # 0 … 1000
DECIMAL_FACTS = [f"f{i:02d}" for i in range(7, 10)]     # 0 … 100
LEVEL_FACTS = [f"f{i:02d}" for i in range(10, 13)]      # ordered L0 … L4
LEVELS = [f"L{i}" for i in range(5)]
PREFIXES = """@prefix gg: <https://w3id.org/guidegraph/ontology#> .
@prefix sy: <https://w3id.org/guidegraph/vocab/synthetic#> .
@prefix lv: <https://w3id.org/guidegraph/vocab/synthetic/level/> .
@prefix act: <https://w3id.org/guidegraph/vocab/synthetic/action/> .
@prefix cor: <https://w3id.org/guidegraph/grading/acc-aha/class/> .
@prefix loe: <https://w3id.org/guidegraph/grading/acc-aha/level/> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix cito: <http://purl.org/spar/cito/> .
@prefix dcterms: <http://purl.org/dc/terms/> .
"""


def _vocabulary() -> str:
    out = [PREFIXES, "<https://w3id.org/guidegraph/vocab/synthetic> a owl:Ontology ; "
           "owl:versionIRI <https://w3id.org/guidegraph/vocab/synthetic/1> .",
           "sy:Level a owl:Class ; rdfs:subClassOf skos:Concept ; rdfs:label \"level\"@en ; "
           "skos:definition \"A synthetic ordered level.\"@en .",
           "lv:scheme a gg:OrderedScheme ; rdfs:label \"levels\"@en ."]
    for rank, level in enumerate(LEVELS):
        out.append(f"lv:{level} a sy:Level ; skos:inScheme lv:scheme ; skos:notation "
                   f"\"{level}\" ; gg:rank {rank} ; skos:prefLabel \"{level}\"@en .")
    for fact in INTEGER_FACTS + DECIMAL_FACTS:
        rng = "xsd:integer" if fact in INTEGER_FACTS else "xsd:decimal"
        out.append(f"sy:{fact} a owl:DatatypeProperty, gg:FactProperty ; rdfs:domain gg:Case ; "
                   f"rdfs:range {rng} ; rdfs:label \"{fact}\"@en ; "
                   "skos:definition \"A synthetic fact.\"@en .")
    for fact in LEVEL_FACTS:
        out.append(f"sy:{fact} a owl:ObjectProperty, gg:FactProperty ; rdfs:domain gg:Case ; "
                   f"rdfs:range sy:Level ; rdfs:label \"{fact}\"@en ; "
                   "skos:definition \"A synthetic fact.\"@en .")
    out.append("act:scheme a skos:ConceptScheme ; rdfs:label \"actions\"@en .")
    for i in range(1, 6):
        out.append(f"act:a{i} a gg:Action ; skos:inScheme act:scheme ; skos:notation \"a{i}\" ; "
                   f"skos:prefLabel \"action {i}\"@en .")
    return "\n".join(out) + "\n"


def _contract() -> str:
    props = []
    for order, fact in enumerate(INTEGER_FACTS + DECIMAL_FACTS + LEVEL_FACTS, 1):
        if fact in INTEGER_FACTS:
            body = "sh:datatype xsd:integer ; sh:minInclusive 0 ; sh:maxInclusive 1000"
        elif fact in DECIMAL_FACTS:
            body = "sh:datatype xsd:decimal ; sh:minInclusive 0 ; sh:maxInclusive 100"
        else:
            body = "sh:nodeKind sh:IRI ; sh:in ( " + " ".join(f"lv:{x}" for x in LEVELS) + " )"
        props.append(f"[ sh:path sy:{fact} ; sh:name \"{fact}\" ; sh:order {order} ; "
                     f"sh:maxCount 1 ; {body} ]")
    return (PREFIXES + "<https://w3id.org/guidegraph/shapes#SyntheticContract> a sh:NodeShape ;"
            " sh:targetClass gg:Case ;\n  sh:property " + " ,\n    ".join(props) + " .\n")


def _context() -> dict:
    ctx: dict = {"@version": 1.1, "@base": "https://w3id.org/guidegraph/case/",
                 "xsd": "http://www.w3.org/2001/XMLSchema#", "sy": NS, "id": "@id"}
    for fact in INTEGER_FACTS:
        ctx[fact] = {"@id": f"sy:{fact}", "@type": "xsd:integer"}
    for fact in DECIMAL_FACTS:
        ctx[fact] = {"@id": f"sy:{fact}", "@type": "xsd:decimal"}
    for fact in LEVEL_FACTS:
        ctx[fact] = {"@id": f"sy:{fact}", "@type": "@vocab", "@context": {"@vocab": LEVEL}}
    return {"@context": ctx}


def _criterion(rng: random.Random, ident: str, fact: str) -> str:
    if fact in LEVEL_FACTS:
        if rng.random() < 0.3:
            picks = rng.sample(LEVELS, 2)
            return (f"{ident} a gg:Criterion ; skos:notation \"{ident[3:]}\" ; gg:fact sy:{fact} "
                    f"; gg:comparator gg:oneOf ; gg:allowedValue "
                    + ", ".join(f"lv:{p}" for p in picks) + " .")
        cmp = rng.choice(["lt", "le", "gt", "ge"])
        level = rng.choice(LEVELS[1:3] if cmp in ("lt", "le") else LEVELS[3:5])
        return (f"{ident} a gg:Criterion ; skos:notation \"{ident[3:]}\" ; gg:fact sy:{fact} ; "
                f"gg:comparator gg:{cmp} ; gg:thresholdConcept lv:{level} .")
    # Like real eligibility criteria, each criterion admits a minority of patients (about
    # 30%), so a recommendation of 3-5 criteria applies to about 1% of cases.
    cmp = rng.choice(["lt", "le", "gt", "ge"])
    raw = rng.randint(200, 400) if cmp in ("lt", "le") else rng.randint(600, 800)
    threshold = str(raw) if fact in INTEGER_FACTS else f"{raw / 10:.1f}"
    return (f"{ident} a gg:Criterion ; skos:notation \"{ident[3:]}\" ; gg:fact sy:{fact} ; "
            f"gg:comparator gg:{cmp} ; gg:threshold {threshold} .")


def _guideline(recs: int, seed: int) -> str:
    rng = random.Random(seed)
    facts = INTEGER_FACTS + DECIMAL_FACTS + LEVEL_FACTS
    out = [PREFIXES, "sy:guideline a gg:Guideline ; skos:notation \"synthetic\" ; "
           f"dcterms:title \"Synthetic guideline of {recs} recommendations\" ; "
           f"gg:version \"r{recs}-s{seed}\" .",
           "sy:ref-1 a gg:Citation ; gg:referenceNumber 1 ; gg:citationStatus gg:active ; "
           "dcterms:title \"Synthetic reference\" .",
           "sy:ref-2 a gg:Citation ; gg:referenceNumber 2 ; gg:citationStatus gg:retracted ; "
           "dcterms:title \"Synthetic retracted reference\" ; gg:retractionNotice \"synthetic\" ."]
    grades = [("cor:I", "gg:for"), ("cor:IIa", "gg:for"), ("cor:IIb", "gg:uncertain"),
              ("cor:III-Harm", "gg:against"), ("cor:III-NoBenefit", "gg:against")]
    for r in range(recs):
        chosen = rng.sample(facts, rng.randint(3, 5))
        crit_ids = []
        for k, fact in enumerate(chosen):
            ident = f"sy:c{r}-{k}"
            crit_ids.append(ident)
            out.append(_criterion(rng, ident, fact))
        strength, direction = rng.choice(grades)
        ref = "sy:ref-2" if r % 50 == 0 else "sy:ref-1"
        out.append(
            f"sy:r{r} a gg:Recommendation ; skos:notation \"r{r:05d}\" ; "
            f"gg:statement \"Synthetic recommendation {r}.\" ; "
            f"gg:action act:a{rng.randint(1, 5)} ; gg:direction {direction} ; "
            f"gg:strength {strength} ; gg:evidenceLevel loe:B-R ; gg:partOfGuideline "
            f"sy:guideline ; gg:sourceSection \"synthetic\" ; cito:citesAsAuthority {ref} ; "
            f"gg:hasCriterion {', '.join(crit_ids)} .")
    return "\n".join(out) + "\n"


def make_data_root(folder: Path, recs: int, seed: int = 1) -> Path:
    """Write a data root with the generic ontology and a synthetic guideline of ``recs``."""
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "ontology" / "contexts").mkdir(parents=True)
    for name in ("guidegraph.ttl", "schemes.ttl"):
        shutil.copy(ROOT / "ontology" / name, folder / "ontology" / name)
    (folder / "ontology" / "synthetic.ttl").write_text(_vocabulary())
    (folder / "ontology" / "contexts" / "synthetic.context.jsonld").write_text(
        json.dumps(_context(), indent=1))
    (folder / "shapes").mkdir()
    (folder / "shapes" / "case-contract-synthetic.ttl").write_text(_contract())
    shutil.copy(ROOT / "shapes" / "authoring.ttl", folder / "shapes" / "authoring.ttl")
    shutil.copytree(ROOT / "queries", folder / "queries")
    (folder / "guidelines" / "synthetic").mkdir(parents=True)
    (folder / "guidelines" / "synthetic" / "guideline.ttl").write_text(_guideline(recs, seed))
    (folder / "examples").mkdir()
    return folder


def cases(count: int, seed: int = 2, present: float = 0.95) -> list[str]:
    """Case JSON texts over the synthetic facts, each fact present with ``present``."""
    rng = random.Random(seed)
    out = []
    for index in range(count):
        obj: dict = {"id": f"s{index}"}
        for fact in INTEGER_FACTS:
            if rng.random() < present:
                obj[fact] = rng.randint(0, 1000)
        for fact in DECIMAL_FACTS:
            if rng.random() < present:
                obj[fact] = rng.randint(0, 1000) / 10
        for fact in LEVEL_FACTS:
            if rng.random() < present:
                obj[fact] = rng.choice(LEVELS)
        out.append(json.dumps(obj))
    return out
