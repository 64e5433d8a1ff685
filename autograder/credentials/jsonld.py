"""JSON-LD for Data Integrity proofs: pinned contexts, a loader that never goes to the network, and
RDF canonicalisation (RDFC-1.0) in "safe mode".

Why pinned: a credential names its JSON-LD contexts by URL, and what its fields mean (so what the
signature covers) depends on those files. Fetching them at verification time would let whoever
serves the URL change the meaning, leak who verifies what, and fail offline. So the contexts are
files in ``autograder/credentials/contexts/`` (origin and licence in the README there), served by a pyld
``FrozenDocumentLoader`` that refuses every other URL; a refusal names the URL.

Why safe mode: RDF canonicalisation keeps only what the contexts define. A JSON key they do not
define, or an ``id``/``type`` value that is not an absolute IRI, is silently dropped from the RDF
and so from what is signed: a tamperer could add such a field to a signed credential and the
signature would still verify. The W3C Data Integrity spec requires such documents to be rejected
(jsonld.js calls this "safe mode"); pyld has no safe mode, but it reports every dropped key to an
``on_property_dropped`` handler, and the expanded document shows every relative IRI. Both are
checked here before canonicalising, for signing and for verifying alike.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

from pyld import jsonld as pyld
from pyld.context_resolver import ContextResolver
from pyld.documentloader.frozen import FrozenDocumentLoader

VC_V2 = "https://www.w3.org/ns/credentials/v2"
OB_V3P0 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
CONTEXT_DIR = Path(__file__).parent / "contexts"
PINNED: dict[str, Path] = {
    VC_V2: CONTEXT_DIR / "credentials-v2.json",
    OB_V3P0: CONTEXT_DIR / "ob-context-3.0.3.json",
}


class JsonLdProblem(ValueError):
    """A document that cannot be canonicalised; the message says why, in words for the reader."""


class UnknownContextError(JsonLdProblem):
    def __init__(self, url: str):
        self.url = url
        super().__init__(f"it uses the JSON-LD context {url}, which is not one of the contexts pinned in this "
                         f"package ({', '.join(PINNED)}); contexts are never fetched from the network")


class UnsafeDocumentError(JsonLdProblem):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("it holds data its JSON-LD contexts do not define, which a signature would not cover: "
                         + "; ".join(problems))


class PinnedLoader(FrozenDocumentLoader):
    """A pyld document loader serving only pinned context files, and its own cache of resolved contexts.

    The cache is private to the loader (pyld's default cache is global, keyed by URL only), so a
    context pinned for the tests alone cannot leak into the loader that verifies credentials.
    """

    def __init__(self, extra: Mapping[str, Path | dict] | None = None):
        super().__init__({**PINNED, **(extra or {})})
        self.resolved: dict = {}  # URL -> resolved context; a handful of pinned files, so no eviction

    def __call__(self, url: str, options: dict):
        if url not in self.documents:
            raise UnknownContextError(url)
        return super().__call__(url, options)

    def options(self) -> dict:
        return {"documentLoader": self, "contextResolver": ContextResolver(self.resolved, self)}


DEFAULT_LOADER = PinnedLoader()


def _relative_iris(expanded) -> Iterator[str]:
    """Every ``@id`` or ``@type`` in an expanded document that is not an absolute IRI or blank node."""
    if isinstance(expanded, list):
        for item in expanded:
            yield from _relative_iris(item)
    elif isinstance(expanded, dict):
        for key, value in expanded.items():
            if key in ("@id", "@type"):
                for iri in value if isinstance(value, list) else [value]:
                    if isinstance(iri, str) and not iri.startswith("@") and not pyld._is_absolute_iri(iri):
                        word = "an id" if key == "@id" else "a type"
                        yield f"'{iri}' is used as {word} but is not an absolute IRI or a term the contexts define"
            elif key != "@value":
                yield from _relative_iris(value)


def expand_safely(document: dict, loader: PinnedLoader | None = None) -> list:
    """``document`` expanded with pinned contexts; :class:`UnsafeDocumentError` if anything would be dropped."""
    loader = loader or DEFAULT_LOADER
    dropped: list[str] = []

    def on_dropped(term):
        dropped.append(f"the field '{term}' is not defined by its contexts" if term
                       else "a field mapped to null by its contexts")

    try:
        expanded = pyld.expand(document, {**loader.options(), "base": None}, on_property_dropped=on_dropped)
    except pyld.JsonLdError as error:
        raise _explain(error) from None
    problems = dropped + list(dict.fromkeys(_relative_iris(expanded)))
    if problems:
        raise UnsafeDocumentError(problems)
    return expanded


def canonicalize(document: dict, loader: PinnedLoader | None = None) -> str:
    """RDFC-1.0 (URDNA2015) canonical N-Quads of ``document``, refusing anything that would be dropped."""
    loader = loader or DEFAULT_LOADER
    expanded = expand_safely(document, loader)
    try:
        return pyld.normalize(expanded, {**loader.options(), "algorithm": "URDNA2015",
                                         "format": "application/n-quads"})
    except pyld.JsonLdError as error:
        raise _explain(error) from None


def _explain(error: Exception) -> JsonLdProblem:
    """The reason inside a pyld error chain: an unknown context stays itself; the rest becomes one line."""
    cause, innermost = error, error
    while cause is not None:
        if isinstance(cause, JsonLdProblem):
            return cause
        innermost = cause
        cause = cause.__cause__ or cause.__context__
    message = innermost.args[0] if innermost.args else type(innermost).__name__
    return JsonLdProblem(f"it is not valid JSON-LD ({message})")
