"""Load the ontology, guidelines and case contracts into one embedded Oxigraph store.

The reasoner compiles from this store once per process; provenance names each guideline
by a content hash so that a result always says exactly which guideline text produced it.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import pyoxigraph as ox

from guidegraph import resources
from guidegraph.errors import ConfigurationError, GraphLoadError
from guidegraph.knowledge.rows import Lit, tsv_rows
from guidegraph.rdf_formats import BY_SUFFIX, KNOWLEDGE_SUFFIXES
from guidegraph.vocab import BASE, GG, SKOS

RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
OWL_IMPORTS = ox.NamedNode("http://www.w3.org/2002/07/owl#imports")
#: IRIs under this base are the project's own ontologies, loaded from ontology/; an
#: owl:imports of one is harmless (it is loaded anyway, never fetched). Any other import is
#: refused rather than silently ignored, so a guideline never depends on unloaded knowledge.



@dataclass(frozen=True)
class GuidelineInfo:
    """One encoded guideline version as loaded: its IRI, notation, version and content hash."""

    iri: str
    id: str
    version: str
    title: str
    content_hash: str
    files: tuple[Path, ...]
    review_status: str = ""  # IRI of the guideline's own gg:reviewStatus, if stated
    disclaimer: str = ""


def rdf_files(folder: Path) -> list[Path]:
    """RDF files below a folder, in a stable order (hashes and loads must not depend on it)."""
    return sorted(p for p in folder.rglob("*") if p.suffix in KNOWLEDGE_SUFFIXES and p.is_file())


def context_files() -> list[Path]:
    """The shipped JSON-LD contexts (ontology/contexts/*.jsonld), in the order they merge."""
    return sorted((resources.ontology_dir() / "contexts").glob("*.jsonld"))


@dataclass(frozen=True)
class KnowledgeFiles:
    """Which files make up the knowledge: the one definition that reasoning, loading,
    validation and the content hashes all use."""

    ontology: list[Path]  # ontology/ RDF files, the JSON-LD contexts excepted
    contexts: list[Path]  # how plain JSON cases map to RDF: part of the ontology's identity
    contracts: list[Path]  # shapes/case-contract-*.ttl
    guidelines: list[Path]  # guideline folders or single files

    def ontology_hash(self) -> str:
        return content_hash([*self.ontology, *self.contexts, *self.contracts])


def knowledge_files(guideline_paths: list[Path] | None = None) -> KnowledgeFiles:
    """The knowledge files; without paths every folder (or RDF file) under guidelines/ is
    one guideline."""
    contexts = context_files()
    ontology = [p for p in rdf_files(resources.ontology_dir()) if p not in contexts]
    contracts = sorted(resources.shapes_dir().glob("case-contract-*.ttl"))
    if guideline_paths is None:
        root = resources.guidelines_dir()
        guideline_paths = sorted(p for p in root.iterdir()
                                 if p.is_dir() or p.suffix in KNOWLEDGE_SUFFIXES)
    return KnowledgeFiles(ontology, contexts, contracts, [Path(p) for p in guideline_paths])


def content_hash(files: list[Path] | tuple[Path, ...], root: Path | None = None) -> str:
    """SHA-256 over file names and bytes: a guideline version's identity in provenance."""
    digest = hashlib.sha256()
    for path in sorted(files, key=lambda p: p.name if root is None else str(p.relative_to(root))):
        name = path.name if root is None else str(path.relative_to(root))
        digest.update(name.encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return "sha256:" + digest.hexdigest()


def parse_file(path: Path) -> list[Statement]:
    """One RDF file's statements, parsed strictly (no network, no imports): its triples as
    quads of the default graph, blank nodes named apart from every other file's (as a
    store's load names them); a JSON-LD file's named graphs are merged into the default one.

    RDF/XML with a DOCTYPE and ``owl:imports`` of a non-local IRI are refused
    (:func:`refuse_doctype`, :func:`refuse_imports`). Statements are read as Python objects
    once, without a scratch store: inserting into a store is the costly step, and the
    knowledge's store then receives each statement only once.
    """
    fmt = BY_SUFFIX[path.suffix].ox if path.suffix in KNOWLEDGE_SUFFIXES else None
    if fmt is None:
        raise GraphLoadError(path, f"unsupported file type {path.suffix!r}; use .ttl, .nt, "
                                   ".jsonld, .rdf")
    try:
        if fmt == ox.RdfFormat.RDF_XML:
            data = path.read_bytes()
            refuse_doctype(data, path)
            quads = list(ox.parse(data, format=fmt, rename_blank_nodes=True))
        else:
            quads = list(ox.parse(path=str(path), format=fmt, rename_blank_nodes=True))
    except FileNotFoundError:
        raise GraphLoadError(path, "file not found") from None
    except (SyntaxError, ValueError, OSError) as exc:
        raise GraphLoadError(path, f"not valid RDF: {exc}") from None
    if fmt == ox.RdfFormat.JSON_LD:
        quads = [q if isinstance(q.graph_name, ox.DefaultGraph)
                 else ox.Quad(q.subject, q.predicate, q.object) for q in quads]
    refuse_imports((q.object for q in quads if q.predicate == OWL_IMPORTS), path)
    return quads


def load_file(store: ox.Store, path: Path) -> None:
    """Parse one RDF file (:func:`parse_file`) into the store's default graph; on refusal
    nothing of it is added."""
    store.extend(parse_file(path))


def refuse_doctype(data: bytes, path: Path | str) -> None:
    """Refuse an XML DOCTYPE or entity declaration before any parser sees it: an external
    entity is a way to files and the network, and pyoxigraph expands nested internal
    entities without bound (a "billion laughs" document never finishes)."""
    head = data.lower()
    if b"<!doctype" in head or b"<!entity" in head:
        raise GraphLoadError(path, "RDF/XML DOCTYPE / entity declarations are refused (external "
                                   "entities would reach files or the network); remove the "
                                   "DOCTYPE and write full IRIs")


def refuse_imports(objects: Iterable[object], path: Path | str) -> None:
    """Refuse ``owl:imports`` of any IRI outside :data:`BASE`: imports are never
    fetched, so the imported knowledge would be silently missing."""
    for obj in objects:
        iri = getattr(obj, "value", str(obj))
        if not (isinstance(obj, ox.NamedNode | str) and iri.startswith(BASE)):
            raise GraphLoadError(
                path, f"owl:imports <{iri}> is refused: imports are never fetched; put the "
                      "imported file beside the guideline and load it with it")


#: A statement of the knowledge: a triple, or a quad of the default graph as files are parsed
#: (both have subject, predicate and object; a store takes a quad as it is).
Statement = ox.Triple | ox.Quad


def _quad(statement: Statement) -> ox.Quad:
    """The statement as a quad of the default graph, for a store."""
    if isinstance(statement, ox.Quad):
        return statement
    return ox.Quad(statement.subject, statement.predicate, statement.object)


@dataclass
class KnowledgePart:
    """One unit of knowledge as stored: the ontology (with case contracts) or one guideline
    version, with the content hash that names it. ``triples`` may repeat a statement (two
    files stating it); a store holds it once."""

    kind: str  # "ontology" | "guideline"
    triples: list[Statement]
    content_hash: str
    info: GuidelineInfo | None = None


def read_parts(guideline_paths: list[Path] | None = None) -> list[KnowledgePart]:
    """Parse ontology/, shapes/case-contract-*.ttl and the guideline folders or files.

    Without paths, every folder (or RDF file) under guidelines/ is one guideline.
    """
    files = knowledge_files(guideline_paths)
    parts = [KnowledgePart("ontology", _parse_files([*files.ontology, *files.contracts]),
                           files.ontology_hash())]
    for gpath in files.guidelines:
        gfiles, root = guideline_files(gpath)
        triples = _parse_files(gfiles)
        info = _guideline_info(triples, tuple(gfiles), content_hash(gfiles, root), str(gpath))
        parts.append(KnowledgePart("guideline", triples, info.content_hash, info))
    return parts


def guideline_files(gpath: Path) -> tuple[list[Path], Path | None]:
    """A guideline's RDF files, and the folder their names in its hash are relative to."""
    gfiles = rdf_files(gpath) if gpath.is_dir() else [gpath]
    if not gfiles:
        raise GraphLoadError(gpath, "no RDF files found")
    return gfiles, gpath if gpath.is_dir() else None


def file_identity(guideline_paths: list[Path] | None = None
                  ) -> list[tuple[str, tuple[Path, ...]]]:
    """The content hash :func:`read_parts` names each part by, with the part's files,
    without parsing a file (a plan cache is looked up by them). OSError for a file that
    cannot be read, GraphLoadError for a guideline folder without RDF files."""
    files = knowledge_files(guideline_paths)
    out = [(files.ontology_hash(), (*files.ontology, *files.contexts, *files.contracts))]
    for gpath in files.guidelines:
        gfiles, root = guideline_files(gpath)
        out.append((content_hash(gfiles, root), tuple(gfiles)))
    return out


def _parse_files(files: list[Path]) -> list[Statement]:
    return [q for path in files for q in parse_file(path)]


class Knowledge:
    """The loaded knowledge: ontology, concept schemes, guidelines and case contracts."""

    def __init__(self, store: ox.Store, guidelines: list[GuidelineInfo],
                 parts: list[KnowledgePart] | None = None) -> None:
        self.store = store
        self.guidelines = guidelines
        self.parts = parts or []
        #: (folder, name) -> the serialized rows of a named query begun by prefetch
        self._prefetched: dict[tuple[str, str], Future[bytes]] = {}

    @classmethod
    def load(cls, guideline_paths: list[Path] | None = None) -> Knowledge:
        """Knowledge from files: the shipped ones, or the given guideline folders or files."""
        return cls.from_parts(read_parts(guideline_paths))

    @classmethod
    def from_parts(cls, parts: list[KnowledgePart]) -> Knowledge:
        store = ox.Store()
        for p in parts:
            store.extend(map(_quad, p.triples))
        infos = [_with_notices(p.info, p.triples) for p in parts if p.info is not None]
        ids = [i.id for i in infos]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ConfigurationError(f"guideline {', '.join(dupes)} given more than once")
        return cls(store, infos, parts)

    def query(self, name: str, folder: str = "derive", **bindings: ox.NamedNode | ox.Literal
              ) -> ox.QuerySolutions:
        """Run a named query from queries/<folder>/ with parameters bound, never pasted."""
        subs = {ox.Variable(k): v for k, v in bindings.items()}
        return self.store.query(_query_text(folder, name), substitutions=subs or None)

    def rows(self, name: str, folder: str = "derive") -> list[dict[str, str | Lit | None]]:
        """The rows of a named SELECT query without parameters (knowledge.rows), evaluated
        in the background if :meth:`prefetch` was asked for it."""
        future = self._prefetched.pop((folder, name), None)
        return tsv_rows(future.result() if future is not None
                        else self._serialized(folder, name))

    def prefetch(self, *named: tuple[str, str]) -> None:
        """Begin evaluating these named queries ((folder, name), in the order they will be
        read) in worker threads while the caller goes on: the engine evaluates and
        serializes a result without holding the interpreter lock, so on two cores a
        compile's queries run beside its Python work instead of before it."""
        pending = self._prefetched
        pool = ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1),
                                  thread_name_prefix="guidegraph-query")
        for folder, name in named:
            if (folder, name) not in pending:
                pending[(folder, name)] = pool.submit(self._serialized, folder, name)
        pool.shutdown(wait=False)

    def drop_prefetched(self) -> None:
        """Forget the prefetched queries not read (a compile that failed part way): the ones
        not begun are cancelled, the running ones finish and their results are dropped."""
        for future in self._prefetched.values():
            future.cancel()
        self._prefetched.clear()

    def _serialized(self, folder: str, name: str) -> bytes:
        return self.store.query(_query_text(folder, name)).serialize(
            format=ox.QueryResultsFormat.TSV)


def _query_text(folder: str, name: str) -> str:
    return resources.resource("queries", folder, f"{name}.rq").read_text(encoding="utf-8")


class DeferredKnowledge(Knowledge):
    """Knowledge known by its guideline versions, whose graphs are read on first use.

    A reasoner whose compiled plan came from the plan cache needs no graph to reason;
    explanations, the SPARQL engine and saving runs do, and reading them then (by ``load``)
    costs what loading would have cost at the start. The graphs read must be the versions
    the plan was compiled from (their content hashes), else the plan would describe other
    knowledge than the one asked about.
    """

    def __init__(self, guidelines: list[GuidelineInfo], load: Callable[[], Knowledge],
                 parts: Iterable[str]) -> None:
        """``parts``: the content hash of every part (ontology too) the plan was made of."""
        self.guidelines = guidelines
        self._load = load
        self._hashes = sorted(parts)
        self._loaded: Knowledge | None = None
        self._lock = threading.Lock()
        self._prefetched = {}

    def loaded(self) -> Knowledge:
        """The knowledge with its graphs, read once."""
        with self._lock:
            if self._loaded is None:
                knowledge = self._load()
                if sorted(p.content_hash for p in knowledge.parts) != self._hashes:
                    raise ConfigurationError(
                        "the knowledge files changed while guidegraph was running (their "
                        "content hashes differ from the ones it compiled); run it again")
                self._loaded = knowledge
            return self._loaded

    @property  # type: ignore[override]
    def store(self) -> ox.Store:
        return self.loaded().store

    @property  # type: ignore[override]
    def parts(self) -> list[KnowledgePart]:
        return self.loaded().parts


def _with_notices(info: GuidelineInfo, triples: list[Statement]) -> GuidelineInfo:
    """The info with the guideline's own review status and disclaimer, read from its
    triples (whether the info came from files or from a stored snapshot's metadata)."""
    if info.review_status or info.disclaimer:
        return info
    found: dict[str, list[str]] = {"review": [], "disclaimer": []}
    wanted = {GG + "reviewStatus": "review", GG + "disclaimer": "disclaimer"}
    for t in triples:
        if t.subject.value == info.iri and t.predicate.value in wanted:
            found[wanted[t.predicate.value]].append(t.object.value)
    if not found["review"] and not found["disclaimer"]:
        return info
    return replace(info, review_status=min(found["review"], default=""),
                   disclaimer=min(found["disclaimer"], default=""))


def _guideline_info(triples: list[Statement], files: tuple[Path, ...], chash: str,
                    where: str) -> GuidelineInfo:
    """The guideline node's identity, read from the parsed triples (only its own few
    statements go through a store: loading copies every triple once already). Values are
    read as a store keeps them: a statement made twice, or a literal written in two forms
    of one value ("2.10" and "2.1" as xsd:decimal), counts once, in its normal form."""
    nodes = {t.subject for t in triples
             if t.predicate == RDF_TYPE and t.object.value == GG + "Guideline"}
    wanted = {SKOS + "notation": "id", GG + "version": "version",
              "http://purl.org/dc/terms/title": "title"}
    identity = ox.Store()  # the few identity statements, once each and normalised
    identity.extend(_quad(t) for t in triples
                    if t.subject in nodes and t.predicate.value in wanted)
    values: dict[str, list[str]] = {"id": [], "version": [], "title": []}
    for q in identity:
        values[wanted[q.predicate.value]].append(q.object.value)
    rows = len(nodes) * max(1, len(values["id"])) * max(1, len(values["version"])) * max(
        1, len(values["title"]))
    if len(nodes) != 1 or rows != 1:
        raise ConfigurationError(
            f"{where}: a guideline must describe exactly one gg:Guideline, found {rows}"
        )
    iri = next(iter(nodes)).value
    return GuidelineInfo(
        iri=iri,
        id=values["id"][0] if values["id"] else iri.rstrip("/#").rsplit("/", 1)[-1],
        version=values["version"][0] if values["version"] else "",
        title=values["title"][0] if values["title"] else "",
        content_hash=chash,
        files=files,
    )
