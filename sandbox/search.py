"""The paper mapper: find the levels, claims and formulas that match a term, an equation, an
arXiv id or an excerpt, offline and at once.

The index is built from what the levels already say: each manifest (title, summary, domains,
parameters, the math card, challenges, claims with their boundaries, the papers it rests on) and
each README, section by section. Text and LaTeX are reduced to the same words
(:func:`words`), so ``softmax(QK^T/sqrt(d))V``, ``\\mathrm{softmax}(QK^\\top/\\sqrt{d})V`` and
"softmax(QKᵀ/√d)V" meet; ``Mem_KV = B * N_layers * ...`` meets the KV-cache level's formula.
Words match exactly, by prefix, or by spelling (a typo or a plural), weighted by how rare they
are; an arXiv id matches its paper exactly.

Use :func:`search` (the app's search box and ``continuous-function search TEXT [--json]``).
"""

from __future__ import annotations

import math
import re
import unicodedata
import weakref
from collections import Counter
from dataclasses import asdict, dataclass, field

from .manifest import DOMAINS, SECTIONS
from .registry import Registry
from .routes import prerequisite_path

# -- words -----------------------------------------------------------------------------------------
GREEK = {"α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "ϵ": "epsilon", "ζ": "zeta",
         "η": "eta", "θ": "theta", "ι": "iota", "κ": "kappa", "λ": "lambda", "μ": "mu", "ν": "nu", "ξ": "xi",
         "π": "pi", "ρ": "rho", "σ": "sigma", "τ": "tau", "υ": "upsilon", "φ": "phi", "ϕ": "phi", "χ": "chi",
         "ψ": "psi", "ω": "omega", "Σ": "sigma", "Δ": "delta", "Γ": "gamma", "Λ": "lambda", "Ω": "omega",
         "Φ": "phi", "Ψ": "psi", "Θ": "theta", "Π": "pi", "∇": "nabla", "∂": "partial", "∫": "integral",
         "√": " sqrt ", "ᵀ": " T ", "⊤": " T ", "∞": "infinity", "≈": " approx ", "‖": " norm "}
#: LaTeX commands that stand for a word a reader would type (the rest lose their backslash)
TEX_WORDS = {"top": "T", "intercal": "T", "sqrt": "sqrt", "frac": " ", "cdot": " ", "times": " ", "left": " ",
             "right": " ", "mathrm": " ", "operatorname": " ", "text": " ", "mathbf": " ", "mathbb": " ",
             "boldsymbol": " ", "mathcal": " ", "bigl": " ", "bigr": " ", "big": " ", "quad": " ", "qquad": " ",
             "nabla": "nabla", "partial": "partial", "int": "integral", "sum": "sum", "prod": "prod",
             "log": "log", "exp": "exp", "ln": "log", "infty": "infinity", "mid": " ", "lVert": " norm ",
             "rVert": " norm ", "Vert": " norm ", "|": " norm ", "langle": " ", "rangle": " ", "dots": " ",
             "ldots": " ", "cdots": " ", "hat": " ", "tilde": " ", "bar": " ", "mathsf": " ", "displaystyle": " "}
STOP = frozenset("a an the of and or to in on for is are be by with as at it its this that from into than then "
                 "what which how does do not no one".split())
_TEX_COMMAND = re.compile(r"\\([A-Za-z]+|\|)")
_TOKEN = re.compile(r"[A-Za-z]+|\d+(?:\.\d+)?")
ARXIV_ID = re.compile(r"\b(\d{4}\.\d{4,5})(?:v\d+)?\b")
_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹₀₁₂₃₄₅₆₇₈₉ₖₜᵢⱼₙ", "0123456789" "0123456789" "ktijn")


_UNICODE = str.maketrans({**GREEK, **{chr(k): v for k, v in _SUPERSCRIPTS.items()}})


def _plain(text: str) -> str:
    """Unicode and LaTeX brought to plain letters: Greek spelt out, commands replaced by the word
    they stand for, sub- and superscript digits made digits, accents dropped."""
    text = _TEX_COMMAND.sub(lambda m: f" {TEX_WORDS.get(m.group(1), m.group(1))} ", text)
    if text.isascii():
        return text
    text = unicodedata.normalize("NFKD", text.translate(_UNICODE))
    return "".join(c for c in text if not unicodedata.combining(c))


def _stem(word: str) -> str:
    """A plural's singular, roughly (enough that "claims" finds "claim" and "matrices" "matrix")."""
    if len(word) > 5 and word.endswith("ices"):
        return word[:-4] + "ix"
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def words(text: str, spelled: bool = False) -> list[str]:
    """The words of ``text`` as the index compares them: lower case, stemmed, without the
    commonest English words. A short all-capitals symbol (QK, KV) also gives its letters, so
    ``QK^T`` and ``Q K^\\top`` share words; ``N_layers`` gives n and layer. ``spelled``: such a
    symbol gives only its letters (the stream in which word order is compared)."""
    out = []
    for token in _TOKEN.findall(_plain(text)):
        low = token.lower()
        if low in STOP:
            continue
        symbol = 2 <= len(token) <= 4 and token.isalpha() and token.isupper()
        if not (symbol and spelled):
            out.append(_stem(low))
        if symbol:
            out += [c.lower() for c in token]
    return out


# -- the index -------------------------------------------------------------------------------------
#: how much a hit of each kind counts, all else equal: a level's own name beats a passing mention
KIND_WEIGHT = {"level": 1.0, "claim": 0.96, "formula": 0.96, "paper": 0.94, "challenge": 0.9, "section": 0.85}


@dataclass
class Entry:
    """One thing the search can find. ``kind`` is level, claim, formula, challenge, paper or
    section; ``object`` names it inside its level (a claim or challenge id, a formula's index,
    a README heading)."""

    kind: str
    level: str
    object: str
    title: str
    text: str
    arxiv: str = ""
    words: list[str] = field(default_factory=list, repr=False)
    counts: Counter = field(default_factory=Counter, repr=False)
    spelled: str = field(default="", repr=False)  # its words in order, symbols spelled out


@dataclass(frozen=True)
class Hit:
    """A search result: the entry found, its score (1 is every word of the query matched
    exactly), a snippet of its text, and the prerequisite path to its level (ids, ending with it)."""

    kind: str
    level: str
    level_title: str
    object: str
    title: str
    snippet: str
    score: float
    path: tuple[str, ...]

    def to_json(self) -> dict:
        return asdict(self)


def _sections(markdown: str) -> list[tuple[str, str]]:
    """(heading, text) per section of a README (the text before the first heading under "")."""
    out, heading, lines = [], "", []
    for line in markdown.splitlines():
        match = re.match(r"#{1,6}\s+(.*)", line)
        if match:
            if "".join(lines).strip():
                out.append((heading, "\n".join(lines).strip()))
            heading, lines = match.group(1).strip(), []
        else:
            lines.append(line)
    if "".join(lines).strip():
        out.append((heading, "\n".join(lines).strip()))
    return out


def level_entries(entry) -> list[Entry]:
    """Everything one level offers to the search."""
    m = entry.manifest
    out = [Entry("level", m.id, "", m.title, " ".join([
        m.summary, m.id.replace("_", " "), SECTIONS.get(m.pillar, ""),
        *(DOMAINS[d] for d in m.domains),
        *(f"{p.label} {p.help}" for p in m.params.values()),
        *(getattr(o, "label", "") for o in m.observables.values())]))]
    for i, (tex, caption) in enumerate(m.math):
        out.append(Entry("formula", m.id, str(i), caption or tex, f"{tex}\n{caption}"))
    for c in m.challenges.values():
        try:
            question = c.format_question(m.resolve_params(c.set))
        except Exception:  # noqa: BLE001  (a question that cannot be filled is found as written)
            question = c.question
        out.append(Entry("challenge", m.id, c.id, c.title, f"{c.title}. {question} {c.explain}"))
    for c in m.claims.values():
        out.append(Entry("claim", m.id, c.id, c.statement, f"{c.statement} Boundary: {c.boundary}".strip()))
    for p in m.papers:
        out.append(Entry("paper", m.id, p.arxiv or p.title, p.title,
                         f"{p.title}. {p.authors} {p.year or ''}. {p.note} {p.arxiv}", arxiv=p.arxiv))
    try:
        readme = entry.read_text("README.md")
    except Exception:  # noqa: BLE001  (a level without a readable README is still found by its manifest)
        readme = ""
    for heading, text in _sections(readme):
        out.append(Entry("section", m.id, heading, heading or m.title, text))
    return out


class Index:
    """The search index over a registry's levels (build once; :meth:`search` is fast)."""

    def __init__(self, registry: Registry):
        self.registry = registry
        self.entries: list[Entry] = []
        for entry in registry.entries.values():
            self.entries += level_entries(entry)
        frequency: Counter = Counter()
        for e in self.entries:
            e.words = words(f"{e.title} {e.text}")
            e.counts = Counter(e.words)
            e.spelled = " " + " ".join(words(f"{e.title} {e.text}", spelled=True)) + " "
            frequency.update(set(e.words))
        n = max(len(self.entries), 1)
        self.idf = {w: math.log(1 + n / f) for w, f in frequency.items()}
        self.vocabulary = sorted(frequency)
        self._near: dict[str, dict[str, float]] = {}

    def _close_words(self, word: str) -> dict[str, float]:
        """Words of the index that ``word`` matches, each with how well: 1 the same word, 0.8 a
        word it begins (three letters at least), 0.7 one spelt nearly the same (a typo)."""
        if word in self._near:
            return self._near[word]
        close = {word: 1.0} if word in self.idf else {}
        if len(word) >= 3:
            for other in self.vocabulary:
                if other == word:
                    continue
                if other.startswith(word):
                    close[other] = max(close.get(other, 0.0), 0.8)
                elif len(word) >= 4 and abs(len(other) - len(word)) <= 2 and _similar(word, other) >= 0.8:
                    close[other] = max(close.get(other, 0.0), 0.7)
        self._near[word] = close
        return close

    def search(self, query: str, limit: int = 20, least: float = 0.5) -> list[Hit]:
        """The entries that match ``query`` best, at most ``limit``, each matching at least
        ``least`` of the query's weight; an arXiv id in the query finds its paper first."""
        wanted = words(query)
        arxiv = {m.group(1) for m in ARXIV_ID.finditer(query)}
        scored: list[tuple[float, Entry]] = []
        if wanted or arxiv:
            weights = {w: self.idf.get(w, math.log(1 + len(self.entries))) for w in set(wanted)}
            total = sum(weights.values()) or 1.0
            phrase = " " + " ".join(words(query, spelled=True)) + " "
            for e in self.entries:
                if e.arxiv and e.arxiv.split("v")[0] in arxiv:
                    scored.append((2.0, e))
                    continue
                if not wanted:
                    continue
                got = 0.0
                for w, weight in weights.items():
                    got += weight * max((how for other, how in self._close_words(w).items() if other in e.counts),
                                        default=0.0)
                score = got / total
                if len(wanted) > 1 and phrase in e.spelled:
                    score += 0.25  # the words in the query's order, one after another
                scored.append((score * KIND_WEIGHT.get(e.kind, 0.8), e))
        scored = [(s, e) for s, e in scored if s >= least]
        scored.sort(key=lambda se: (-se[0], list(KIND_WEIGHT).index(se[1].kind), se[1].level))
        return [self._hit(s, e, wanted) for s, e in scored[:limit]]

    def _hit(self, score: float, e: Entry, wanted: list[str]) -> Hit:
        level = self.registry.entries[e.level].manifest
        return Hit(kind=e.kind, level=e.level, level_title=level.title, object=e.object, title=e.title,
                   snippet=snippet(e.text, wanted), score=round(score, 3),
                   path=tuple(prerequisite_path(self.registry, e.level)))


def _similar(a: str, b: str) -> float:
    """Letter-pair overlap of two words (Dice coefficient on bigrams), 0..1."""
    pa, pb = Counter(a[i:i + 2] for i in range(len(a) - 1)), Counter(b[i:i + 2] for i in range(len(b) - 1))
    both = sum((pa & pb).values())
    return 2 * both / max(sum(pa.values()) + sum(pb.values()), 1)


def snippet(text: str, wanted: list[str], width: int = 160) -> str:
    """A line of ``text`` around its first word that matches the query, on one line."""
    flat = " ".join(text.split())
    if len(flat) <= width:
        return flat
    if not wanted:
        return flat[:width].rstrip() + "…"
    low = _plain(flat).lower()
    at = min((i for i in (low.find(w[:5]) for w in wanted if len(w) >= 3) if i >= 0), default=0)
    start = max(0, min(at - width // 3, len(flat) - width))
    out = flat[start:start + width].strip()
    return ("…" if start > 0 else "") + out + ("…" if start + width < len(flat) else "")


_INDEXES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # registry -> (its levels, index)


def index_for(registry: Registry) -> Index:
    """The index of ``registry``, built on first use and again when its set of levels changes
    (kept only as long as the registry is)."""
    key = frozenset((i, id(e.manifest)) for i, e in registry.entries.items())
    cached = _INDEXES.get(registry)
    if cached is None or cached[0] != key:
        cached = (key, Index(registry))
        _INDEXES[registry] = cached
    return cached[1]


def search(registry: Registry, query: str, limit: int = 20) -> list[Hit]:
    """The best matches for ``query`` among the registry's levels (see :class:`Index`)."""
    return index_for(registry).search(query, limit)
