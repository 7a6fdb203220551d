"""Load the ontology, guidelines and case contracts into one embedded Oxigraph store.

The reasoner compiles from this store once per process; provenance names each guideline
by a content hash so that a result always says exactly which guideline text produced it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from guidegraph import resources
from guidegraph.errors import ConfigurationError, GraphLoadError

GG = "https://w3id.org/guidegraph/ontology#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")

_FORMATS = {
    ".ttl": ox.RdfFormat.TURTLE,
    ".nt": ox.RdfFormat.N_TRIPLES,
    ".jsonld": ox.RdfFormat.JSON_LD,
    ".rdf": ox.RdfFormat.RDF_XML,
}


@dataclass(frozen=True)
class GuidelineInfo:
    """One encoded guideline version as loaded: its IRI, notation, version and content hash."""

    iri: str
    id: str
    version: str
    title: str
    content_hash: str
    files: tuple[Path, ...]


def rdf_files(folder: Path) -> list[Path]:
    """RDF files below a folder, in a stable order (hashes and loads must not depend on it)."""
    return sorted(p for p in folder.rglob("*") if p.suffix in _FORMATS and p.is_file())


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


def load_file(store: ox.Store, path: Path) -> None:
    """Parse one RDF file strictly into the store's default graph (no network, no imports)."""
    fmt = _FORMATS.get(path.suffix)
    if fmt is None:
        raise GraphLoadError(path, f"unsupported file type {path.suffix!r}; use .ttl, .nt, .jsonld")
    try:
        store.bulk_load(path=str(path), format=fmt, base_iri=path.resolve().as_uri())
    except FileNotFoundError:
        raise GraphLoadError(path, "file not found") from None
    except (SyntaxError, ValueError, OSError) as exc:
        raise GraphLoadError(path, f"not valid RDF: {exc}") from None


class Knowledge:
    """The loaded knowledge: ontology, concept schemes, guidelines and case contracts."""

    def __init__(self, store: ox.Store, guidelines: list[GuidelineInfo], files: list[Path]):
        self.store = store
        self.guidelines = guidelines
        self.files = files

    @classmethod
    def load(cls, guideline_paths: list[Path] | None = None) -> Knowledge:
        """Load ontology/, shapes/case-contract-*.ttl and the given guideline folders or files.

        Without paths, every folder under guidelines/ is one guideline.
        """
        store = ox.Store()
        files: list[Path] = []
        for path in rdf_files(resources.ontology_dir()):
            load_file(store, path)
            files.append(path)
        for path in sorted(resources.shapes_dir().glob("case-contract-*.ttl")):
            load_file(store, path)
            files.append(path)
        if guideline_paths is None:
            root = resources.guidelines_dir()
            guideline_paths = sorted(
                p for p in root.iterdir() if p.is_dir() or p.suffix in _FORMATS)
        guidelines: list[GuidelineInfo] = []
        for gpath in guideline_paths:
            gpath = Path(gpath)
            gfiles = rdf_files(gpath) if gpath.is_dir() else [gpath]
            if not gfiles:
                raise GraphLoadError(gpath, "no RDF files found")
            part = ox.Store()
            for path in gfiles:
                load_file(part, path)
                load_file(store, path)
                files.append(path)
            guidelines.append(
                _guideline_info(part, tuple(gfiles), gpath if gpath.is_dir() else None)
            )
        return cls(store, guidelines, files)

    def query(self, name: str, **bindings: ox.NamedNode | ox.Literal) -> ox.QuerySolutions:
        """Run a named query from queries/derive/ with parameters bound, never pasted."""
        text = resources.resource("queries", "derive", f"{name}.rq").read_text(encoding="utf-8")
        subs = {ox.Variable(k): v for k, v in bindings.items()}
        return self.store.query(text, substitutions=subs or None)


def _guideline_info(part: ox.Store, files: tuple[Path, ...], root: Path | None) -> GuidelineInfo:
    rows = list(
        part.query(
            f"""SELECT ?g ?id ?version ?title WHERE {{
                ?g a <{GG}Guideline> .
                OPTIONAL {{ ?g <{SKOS}notation> ?id }}
                OPTIONAL {{ ?g <{GG}version> ?version }}
                OPTIONAL {{ ?g <http://purl.org/dc/terms/title> ?title }} }}"""
        )
    )
    if len(rows) != 1:
        where = root or files[0]
        raise ConfigurationError(
            f"{where}: a guideline folder must describe exactly one gg:Guideline, found {len(rows)}"
        )
    row = rows[0]
    iri = row["g"].value
    return GuidelineInfo(
        iri=iri,
        id=row["id"].value if row["id"] else iri.rstrip("/#").rsplit("/", 1)[-1],
        version=row["version"].value if row["version"] else "",
        title=row["title"].value if row["title"] else "",
        content_hash=content_hash(files, root),
        files=files,
    )
