"""LaTeX formulas in the UI, rendered by MicroTeX (imgui-bundle), with a readable text fallback.

MicroTeX needs the en_US.UTF-8 locale to exist on the system. When it is missing we try to
compile it into the user data folder (``localedef``, no root needed) and point ``LOCPATH``
there; if a formula still cannot be rendered, it is shown as readable Unicode text and one
warning is logged. A missing locale never crashes a level.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import shutil
import subprocess
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

# ---------------------------------------------------------------------------------------------
# The text fallback: LaTeX math as readable Unicode
# ---------------------------------------------------------------------------------------------

EM_SPACE = "\u2003"  # \quad: wide, and never collapsed with the ordinary spaces around it
MINUS = "\u2212"

_GREEK = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ϵ", "varepsilon": "ε", "zeta": "ζ",
    "eta": "η", "theta": "θ", "vartheta": "ϑ", "iota": "ι", "kappa": "κ", "lambda": "λ", "mu": "μ", "nu": "ν",
    "xi": "ξ", "pi": "π", "varpi": "ϖ", "rho": "ρ", "varrho": "ϱ", "sigma": "σ", "varsigma": "ς", "tau": "τ",
    "upsilon": "υ", "phi": "ϕ", "varphi": "φ", "chi": "χ", "psi": "ψ", "omega": "ω",
    "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ", "Xi": "Ξ", "Pi": "Π", "Sigma": "Σ",
    "Upsilon": "Υ", "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω",
}
# what a command stands for; relations and arrows keep the spaces the source puts around them
_SYMBOLS = {
    **_GREEK,
    "nabla": "∇", "partial": "∂", "infty": "∞", "ell": "ℓ", "hbar": "ℏ", "Re": "Re", "Im": "Im",
    "emptyset": "∅", "varnothing": "∅", "forall": "∀", "exists": "∃", "neg": "¬", "prime": "′",
    "cdot": "·", "times": "×", "div": "÷", "pm": "±", "mp": "∓", "ast": "*", "star": "⋆", "circ": "∘",
    "bullet": "•", "odot": "⊙", "otimes": "⊗", "oplus": "⊕", "cup": "∪", "cap": "∩", "setminus": "∖",
    "wedge": "∧", "land": "∧", "vee": "∨", "lor": "∨", "dagger": "†", "top": "⊤", "bot": "⊥", "perp": "⊥",
    "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥", "ne": "≠", "neq": "≠", "ll": "≪", "gg": "≫",
    "approx": "≈", "simeq": "≃", "cong": "≅", "equiv": "≡", "sim": "~", "propto": "∝", "in": "∈",
    "notin": "∉", "ni": "∋", "subset": "⊂", "subseteq": "⊆", "supset": "⊃", "supseteq": "⊇", "mid": "|",
    "parallel": "∥", "to": "→", "rightarrow": "→", "leftarrow": "←", "gets": "←", "leftrightarrow": "↔",
    "Rightarrow": "⇒", "Leftarrow": "⇐", "Leftrightarrow": "⇔", "iff": "⇔", "implies": "⇒",
    "mapsto": "↦", "longrightarrow": "⟶", "longmapsto": "⟼", "uparrow": "↑", "downarrow": "↓",
    "ldots": "…", "dots": "…", "dotsc": "…", "dotsb": "⋯", "cdots": "⋯", "vdots": "⋮", "ddots": "⋱",
    "langle": "⟨", "rangle": "⟩", "lceil": "⌈", "rceil": "⌉", "lfloor": "⌊", "rfloor": "⌋",
    "lvert": "|", "rvert": "|", "vert": "|", "lVert": "‖", "rVert": "‖", "Vert": "‖", "|": "‖",
    "{": "{", "}": "}", "lbrace": "{", "rbrace": "}", "%": "%", "$": "$", "#": "#", "&": "&", "_": "_",
    "sum": "Σ", "prod": "Π", "coprod": "∐", "int": "∫", "iint": "∬", "oint": "∮", "sqrt": "√",
    "bmod": " mod ", "triangle": "△", "square": "□",
}
_SPACES = {",": " ", ":": " ", ">": " ", ";": " ", " ": " ", "!": "", "enspace": " ", "thinspace": " ",
           "quad": EM_SPACE, "qquad": EM_SPACE * 2}
# named operators: upright words, kept apart from a letter that follows
_OPERATORS = {"log", "ln", "lg", "exp", "sin", "cos", "tan", "cot", "sec", "csc", "sinh", "cosh", "tanh",
              "arcsin", "arccos", "arctan", "max", "min", "sup", "inf", "lim", "limsup", "liminf", "arg",
              "det", "dim", "ker", "deg", "gcd", "Pr", "hom", "mod"}
_BIG_OPERATORS = {"sum", "prod", "coprod", "int", "iint", "oint"}
_TEXT = {"text", "textrm", "textit", "textbf", "textsf", "texttt", "mbox", "hbox"}  # their argument is prose
_STYLE = {"mathrm", "mathit", "mathbf", "mathsf", "mathtt", "boldsymbol", "bm", "mathnormal", "displaystyle",
          "textstyle", "scriptstyle"}
_SIZES = {"big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr", "biggl", "biggr", "Biggl", "Biggr",
          "bigm", "Bigm", "left", "right", "middle"}
_ACCENTS = {"bar": "\u0304", "overline": "\u0305", "hat": "\u0302", "widehat": "\u0302", "tilde": "\u0303",
            "widetilde": "\u0303", "dot": "\u0307", "ddot": "\u0308", "vec": "\u20d7", "check": "\u030c",
            "breve": "\u0306", "acute": "\u0301", "grave": "\u0300", "mathring": "\u030a"}
_FRACTIONS = {"frac", "tfrac", "dfrac", "cfrac"}
_VULGAR = {("1", "2"): "½", ("1", "3"): "⅓", ("2", "3"): "⅔", ("1", "4"): "¼", ("3", "4"): "¾",
           ("1", "5"): "⅕", ("1", "6"): "⅙", ("1", "8"): "⅛"}
_MATRICES = {"pmatrix": "()", "bmatrix": "[]", "Bmatrix": "{}", "vmatrix": "||", "Vmatrix": "‖‖",
             "matrix": "", "smallmatrix": "", "array": "", "aligned": "", "align": "", "align*": "",
             "gathered": "", "split": "", "cases": "{"}
_SUPERSCRIPTS = dict(zip(
    "0123456789+-−=()abcdefghijklmnoprstuvwxyzABDEGHIJKLMNOPRTUVWβγδθφϕχ⊤",
    "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻⁼⁽⁾ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻᴬᴮᴰᴱᴳᴴᴵᴶᴷᴸᴹᴺᴼᴾᴿᵀᵁⱽᵂᵝᵞᵟᶿᵠᵠᵡᵀ"))
_SUBSCRIPTS = dict(zip("0123456789+-−=()aehijklmnoprstuvxβγρφϕχ", "₀₁₂₃₄₅₆₇₈₉₊₋₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓᵦᵧᵨᵩᵩᵪ"))
_SCRIPT_CHARS = set(_SUPERSCRIPTS.values()) | set(_SUBSCRIPTS.values()) | {"′", "″", "*"}
_DOUBLE_STRUCK = {"C": "ℂ", "H": "ℍ", "N": "ℕ", "P": "ℙ", "Q": "ℚ", "R": "ℝ", "Z": "ℤ", "1": "𝟙"}
_SCRIPT_CAPITALS = {"B": "ℬ", "E": "ℰ", "F": "ℱ", "H": "ℋ", "I": "ℐ", "L": "ℒ", "M": "ℳ", "R": "ℛ"}
# a character that stands between terms (a fraction beside one needs no parentheses)
_SEPARATORS = set("=+−±∓<>≤≥≈≠≡∝~→←↔⇒⇐⇔↦,;:|∈∉⊂⊆")
_OPEN, _CLOSE = "([{⟨⌈⌊", ")]}⟩⌉⌋"
# relations, binary operators, arrows and dots: the spaces the source puts around them are kept
# (after a letter-like command, TeX's rule applies: the space only ends the command's name)
_SPACED = {"le", "leq", "ge", "geq", "ne", "neq", "ll", "gg", "approx", "simeq", "cong", "equiv", "sim",
           "propto", "in", "notin", "ni", "subset", "subseteq", "supset", "supseteq", "mid", "parallel", "to",
           "rightarrow", "leftarrow", "gets", "leftrightarrow", "Rightarrow", "Leftarrow", "Leftrightarrow",
           "iff", "implies", "mapsto", "longrightarrow", "longmapsto", "cdot", "times", "div", "pm", "mp",
           "circ", "bullet", "odot", "otimes", "oplus", "cup", "cap", "setminus", "wedge", "land", "vee", "lor",
           "ldots", "dots", "dotsc", "dotsb", "cdots", "vdots", "ddots", "bmod", "star", "ast"}
_OPENERS = {"langle", "lceil", "lfloor", "lvert", "lVert", "lbrace"}
_CLOSERS = {"rangle", "rceil", "rfloor", "rvert", "rVert", "rbrace"}
_TOKEN = re.compile(r"\\([A-Za-z]+)(\s*)|\\(.)|(\s+)|(.)", re.DOTALL)


class _Piece:
    """A rendered part of a formula. ``kind``: "atom", "space", "word" (from \\text or \\mathrm),
    "op" (a named operator, kept apart from a term beside it), "frac" (an inline a/b, given
    parentheses when it stands beside a term)."""

    __slots__ = ("kind", "text")

    def __init__(self, text: str, kind: str = "atom"):
        self.text, self.kind = text, kind


class _Converter:
    """A small recursive-descent reader of math-mode LaTeX that writes Unicode text."""

    def __init__(self, tex: str, unicode_scripts: bool = True):
        # (kind, value): cmd, cspace (spaces after a command's name), sym (control symbol), space, char
        self.tokens: list[tuple[str, str]] = []
        self.unicode_scripts = unicode_scripts
        self.ascii_script = False  # a script had no Unicode form (then all are written _x, for evenness)
        for match in _TOKEN.finditer(tex):
            word, after, symbol, space, char = match.groups()
            if word is not None:
                self.tokens.append(("cmd", word))
                if after:
                    self.tokens.append(("cspace", " "))
            elif symbol is not None:
                self.tokens.append(("sym", symbol))
            elif space is not None:
                self.tokens.append(("space", " "))
            else:
                self.tokens.append(("char", char))
        self.pos = 0
        self.pieces: list[_Piece] = []
        self.unknown: set[str] = set()

    # -- reading ---------------------------------------------------------------------------
    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str] | None:
        token = self.peek()
        self.pos += token is not None
        return token

    def skip_spaces(self) -> None:
        while self.peek() in (("space", " "), ("cspace", " ")):
            self.pos += 1

    def sequence(self, stops: tuple[tuple[str, str], ...] = ()) -> list[_Piece]:
        """Pieces up to (not including) a stop token or the end."""
        pieces: list[_Piece] = []
        while (token := self.peek()) is not None and token not in stops:
            if token in (("char", "^"), ("char", "_")):
                self.take()
                base = pieces.pop() if pieces and pieces[-1].kind != "space" else _Piece("")
                if base.kind == "frac":
                    base = _Piece(f"({base.text})")
                script = self.script(self.argument(), token[1] == "^")
                pieces.append(_Piece(base.text + script, base.kind if base.kind in ("op", "close") else "atom"))
                continue
            piece = self.atom()
            if piece is not None:
                pieces.append(piece)
        return pieces

    def argument(self) -> list[_Piece]:
        """A command's or a script's argument: a {group} or the next single atom."""
        self.skip_spaces()
        if self.peek() == ("char", "{"):
            return self.group()
        piece = self.atom()
        return [piece] if piece is not None else []

    def group(self) -> list[_Piece]:
        self.take()  # {
        pieces = self.sequence((("char", "}"),))
        self.take()  # }
        return pieces

    def text_argument(self) -> str:
        """The argument of \\text: prose, its spaces and hyphens kept."""
        self.skip_spaces()
        if self.peek() != ("char", "{"):
            token = self.take()
            return token[1] if token else ""
        self.take()
        depth, out = 1, []
        while (token := self.take()) is not None:
            if token == ("char", "{"):
                depth += 1
            elif token == ("char", "}"):
                depth -= 1
                if depth == 0:
                    break
            out.append(" " if token[0] == "space" else token[1])
        return "".join(out)

    def optional(self) -> str | None:
        """An optional [argument], as in \\sqrt[3]{x}."""
        self.skip_spaces()
        if self.peek() != ("char", "["):
            return None
        self.take()
        index = _join(self.sequence((("char", "]"),)))
        self.take()
        return index

    def environment_name(self) -> str:
        self.skip_spaces()
        return self.text_argument().strip()

    # -- atoms -----------------------------------------------------------------------------
    def atom(self) -> _Piece | None:
        token = self.take()
        if token is None:
            return None
        kind, value = token
        if kind == "space":
            return _Piece(" ", "space")
        if kind == "cspace":
            before, after = self.tokens[self.pos - 2], self.peek()
            if before[1] in _SPACED or not _letter_like(after):
                return _Piece(" ", "space")
            return None
        if kind == "char":
            if value == "{":
                self.pos -= 1
                return _Piece(_join(self.group()))
            if value == "}":  # unbalanced: dropped
                return None
            if value == "~":
                return _Piece(" ", "space")
            if value == "&":
                return _Piece(" ", "space")
            if value == "'":
                return _Piece("′")
            if value in "([":
                return _Piece(value, "open")
            if value in ")]":
                return _Piece(value, "close")
            return _Piece(MINUS if value == "-" else value)
        if kind == "sym":
            if value in _SPACES:
                return _Piece(_SPACES[value], "space")
            if value == "\\":
                return _Piece("; ")
            if value in _SYMBOLS:
                return _Piece(_SYMBOLS[value])
            self.unknown.add("\\" + value)
            return _Piece(value)
        return self.command(value)

    def command(self, name: str) -> _Piece | None:
        if name in _SPACES:
            return _Piece(_SPACES[name], "space")
        if name in _SIZES:
            self.skip_spaces()
            if self.peek() == ("char", "."):  # \left. : no delimiter
                self.take()
            return None
        if name in _FRACTIONS:
            numerator, denominator = _join(self.argument()), _join(self.argument())
            if (numerator, denominator) in _VULGAR:
                return _Piece(_VULGAR[numerator, denominator])
            numerator = numerator if _is_compact(numerator) else f"({numerator})"
            denominator = denominator if _is_atom(denominator) else f"({denominator})"
            return _Piece(f"{numerator}/{denominator}", "frac")
        if name == "sqrt":
            index = self.optional()
            radicand = _join(self.argument())
            index = "" if index in (None, "2") else index
            root = ("".join(_SUPERSCRIPTS[c] for c in index) if all(c in _SUPERSCRIPTS for c in index)
                    else f"({index})") if index else ""
            root += "√"
            return _Piece(root + (radicand if _is_atom(radicand) else f"({radicand})"))
        if name in _ACCENTS:
            return _Piece(_accent(_join(self.argument()), name))
        if name in _TEXT:
            return _Piece(self.text_argument(), "word")
        if name == "operatorname":
            return _Piece(_join(self.argument()), "op")
        if name in _STYLE:
            if name.endswith("style"):
                return None
            text = _join(self.argument())
            return _Piece(text, "word" if re.fullmatch(r"[A-Za-z]{2,}", text) else "atom")
        if name == "mathbb":
            return _Piece("".join(_double_struck(c) for c in _join(self.argument())))
        if name in ("mathcal", "mathscr"):
            return _Piece("".join(_script_capital(c) for c in _join(self.argument())))
        if name in ("pmod", "pod"):
            return _Piece(f" ({'mod ' if name == 'pmod' else ''}{_join(self.argument())})")
        if name == "not":
            negated = _join(self.argument())
            return _Piece({"=": "≠", "∈": "∉", "≡": "≢", "~": "≁", "<": "≮", ">": "≯"}.get(negated, negated + "\u0338"))
        if name == "begin":
            return self.environment()
        if name == "end":  # an \end without its \begin
            self.environment_name()
            return None
        if name in _OPERATORS:
            return _Piece(name, "op")
        if name in _BIG_OPERATORS:
            return _Piece(_SYMBOLS[name], "op")
        if name in _SYMBOLS:
            return _Piece(_SYMBOLS[name], "open" if name in _OPENERS else "close" if name in _CLOSERS else "atom")
        self.unknown.add("\\" + name)
        return _Piece(name)

    def script(self, pieces: list[_Piece], superscript: bool) -> str:
        """A sub- or superscript: Unicode script characters where every character has one (and
        every other script of the formula has them too), else _x / ^x for one symbol or one
        word (λ_max), else _(…) / ^(…), so the grouping is kept."""
        text = re.sub(r"\s+", "", _join(pieces))
        if not text or (superscript and text in ("*", "′", "″", "∗")):
            return text
        word = len(pieces) == 1 and pieces[0].kind in ("word", "op") and len(text) > 1
        table = _SUPERSCRIPTS if superscript else _SUBSCRIPTS
        if text and not word and all(c in table for c in text):
            # digits and signs up high (x², e⁻¹) read as powers whatever else the formula holds
            if self.unicode_scripts or (superscript and re.fullmatch(r"[0-9+−-]+|⊤|T", text)):
                return "".join(table[c] for c in text)
        elif not word and len(text) == 1:  # a one-letter index like θ_b: then θ_a beside it, not θₐ
            self.ascii_script = True
        mark = "^" if superscript else "_"
        if word or len(_core(text)) <= 1 or re.fullmatch(r"\d+", text) or _bracketed(text):
            return mark + text
        return f"{mark}({text})"

    def environment(self) -> _Piece:
        """\\begin{pmatrix} a & b \\\\ c & d \\end{pmatrix} as (a, b; c, d)."""
        name = self.environment_name()
        rows: list[list[str]] = [[]]
        stops = (("char", "&"), ("sym", "\\"), ("cmd", "end"))
        if name == "array":
            self.text_argument()  # the column spec
        while True:
            cell = _join(self.sequence(stops)).strip()
            token = self.take()
            rows[-1].append(cell)
            if token is None or token == ("cmd", "end"):
                break
            if token == ("sym", "\\"):
                rows.append([])
        if self.peek() is not None:
            self.environment_name()
        rows = [row for row in rows if any(row)]
        if name not in _MATRICES:
            self.unknown.add(f"\\begin{{{name}}}")
        brackets = _MATRICES.get(name, "")
        body = "; ".join(", ".join(row) for row in rows)
        if len(brackets) == 2:
            return _Piece(brackets[0] + body + brackets[1])
        return _Piece(brackets + body)


def _join(pieces: list[_Piece]) -> str:
    """Pieces as text: a named operator stays apart from a letter after it, and an inline
    fraction juxtaposed with a term (a product) gets parentheses, so a/b c never reads as a/(bc)."""
    out: list[str] = []
    for i, piece in enumerate(pieces):
        text = piece.text
        if piece.kind == "space" and text == " " and (
                (i and pieces[i - 1].kind == "open") or (i + 1 < len(pieces) and pieces[i + 1].kind == "close")):
            continue  # no space just inside brackets
        if piece.kind == "frac" and not (_free(pieces, i, -1) and _free(pieces, i, 1)):
            text = f"({text})"
        if i and ((pieces[i - 1].kind == "op" and _wordy(text[:1]))
                  or (piece.kind == "op" and _wordy(pieces[i - 1].text[-1:]))):
            out.append(" ")
        out.append(text)
    return "".join(out)


def _wordy(c: str) -> bool:
    """Whether a character is part of a term (a named operator is kept apart from it)."""
    return c != "" and (c.isalnum() or c in "∇∂′″*)]|‖" or c in _SCRIPT_CHARS)


def _letter_like(token: tuple[str, str] | None) -> bool:
    """Whether a token starts a term: a space before it only ended a command's name (\\eta h is ηh)."""
    if token is None:
        return False
    kind, value = token
    if kind == "char":
        return value.isalnum() or value in "{"
    if kind == "cmd":
        return value not in _SPACED and value not in _SIZES and value not in _SPACES and value not in ("end", "right")
    return False


def _free(pieces: list[_Piece], i: int, step: int) -> bool:
    """Whether the neighbour of pieces[i] on one side (spaces skipped) leaves it standing alone."""
    j = i + step
    while 0 <= j < len(pieces) and pieces[j].kind == "space" and pieces[j].text.strip() == "":
        if pieces[j].text != " ":  # a \quad separates
            return True
        j += step
    if not 0 <= j < len(pieces):
        return True
    text = pieces[j].text.strip()
    if not text:
        return True
    edge = text[-1] if step < 0 else text[0]
    return edge in _SEPARATORS or edge in (_OPEN if step < 0 else _CLOSE) or edge in ".…"


def _core(text: str) -> str:
    """Text without spaces, combining marks, and the sub- and superscript characters attached to it."""
    return "".join(c for c in text if not c.isspace() and not unicodedata.combining(c) and c not in _SCRIPT_CHARS)


def _bracketed(text: str) -> bool:
    """Whether text is one bracketed whole, like (a + b) or |x|, scripts after it allowed."""
    text = text.strip().rstrip("".join(_SCRIPT_CHARS))
    pairs = {"(": ")", "[": "]", "{": "}", "⟨": "⟩", "|": "|", "‖": "‖", "⌈": "⌉", "⌊": "⌋"}
    if len(text) < 2 or text[0] not in pairs or text[-1] != pairs[text[0]]:
        return False
    depth = 0
    for i, c in enumerate(text):
        if c in _OPEN:
            depth += 1
        elif c in _CLOSE:
            depth -= 1
            if depth == 0 and i < len(text) - 1:
                return False
    return True


def _is_atom(text: str) -> bool:
    """One symbol, one number, a d-something (dt), or one bracketed whole: safe after a slash."""
    core = _core(text)
    return (len(core) <= 1 or re.fullmatch(r"\d+(?:\.\d+)?", core) is not None
            or re.fullmatch(r"d\w", core) is not None or _bracketed(text))


def _is_compact(text: str) -> bool:
    """A product with no spaces or operators in it (γσ², dZ): safe before a slash."""
    return _is_atom(text) or (re.search(r"[\s/" + "".join(_SEPARATORS) + "]", text.strip()) is None
                              and _balanced(text))


def _balanced(text: str) -> bool:
    depth = 0
    for c in text:
        depth += (c in _OPEN) - (c in _CLOSE)
        if depth < 0:
            return False
    return depth == 0


def _accent(text: str, name: str) -> str:
    """An accent on a symbol: the precomposed character where Unicode has one (Ā, ẋ), the
    combining mark on a small letter (w̄), else bar(B): a text renderer places a combining mark
    at the height of a small letter, where it vanishes into a capital."""
    mark = _ACCENTS[name]
    if len(text) == 1:
        composed = unicodedata.normalize("NFC", text + mark)
        if len(composed) == 1 or (text.isalpha() and text.islower()):
            return composed
    return f"{name}({text})"


def _double_struck(c: str) -> str:
    if c in _DOUBLE_STRUCK:
        return _DOUBLE_STRUCK[c]
    return chr(0x1D538 + ord(c) - ord("A")) if "A" <= c <= "Z" else c


def _script_capital(c: str) -> str:
    if c in _SCRIPT_CAPITALS:
        return _SCRIPT_CAPITALS[c]
    return chr(0x1D49C + ord(c) - ord("A")) if "A" <= c <= "Z" else c


def _convert(tex: str, unicode_scripts: bool = True) -> _Converter:
    converter = _Converter(tex, unicode_scripts)
    converter.pieces = converter.sequence()
    while converter.peek() is not None:  # a stray closing brace: skip it and read on
        converter.take()
        converter.pieces += converter.sequence()
    return converter


def unknown_commands(tex: str) -> set[str]:
    """The commands in ``tex`` that :func:`plain_text` does not know (it writes their names)."""
    return _convert(tex).unknown


def plain_text(tex: str) -> str:
    """A readable Unicode rendering of a LaTeX formula, for when MicroTeX cannot draw it.

    The grouping is kept: x_{k-1} becomes xₖ₋₁ (Unicode subscripts where every character has
    one), (…)^{1/m} becomes (…)^(1/m), \\frac{a+b}{c} becomes (a + b)/c. Where one script of a
    formula has no Unicode form (θ_b), all its scripts are written that way (θ_a, not θₐ)."""
    converter = _convert(tex)
    if converter.ascii_script:
        converter = _convert(tex, unicode_scripts=False)
    text = _join(converter.pieces).replace("′′", "″")
    text = re.sub(r" *" + EM_SPACE + r"[ " + EM_SPACE + "]*",
                  lambda m: EM_SPACE * max(1, m.group(0).count(EM_SPACE)), text)
    return re.sub(r" {2,}", " ", text).strip()


def _locale_exists() -> bool:
    import locale

    saved = locale.setlocale(locale.LC_CTYPE)
    try:
        locale.setlocale(locale.LC_CTYPE, "en_US.UTF-8")
        return True
    except locale.Error:
        return False
    finally:
        locale.setlocale(locale.LC_CTYPE, saved)


def ensure_locale() -> str | None:
    """Make en_US.UTF-8 available to MicroTeX; None on success, else why not."""
    if _locale_exists():
        return None
    from ..paths import user_data_dir

    target = user_data_dir() / "locale"
    if not (target / "en_US.UTF-8").is_dir():
        localedef = shutil.which("localedef")
        if not localedef:
            return "the en_US.UTF-8 locale is missing and localedef is not installed"
        try:
            subprocess.run([localedef, "-i", "en_US", "-f", "UTF-8", str(target / "en_US.UTF-8")],
                           check=False, capture_output=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"could not compile the en_US.UTF-8 locale: {exc}"
        if not (target / "en_US.UTF-8").is_dir():
            return "the en_US.UTF-8 locale is missing and could not be compiled"
    os.environ["LOCPATH"] = str(target)
    return None


_serials = itertools.count()


@dataclass(frozen=True)
class FormulaImage:
    """A formula rendered to a texture: white on transparent (tint it when drawing), ``baseline``
    pixels from its top to the formula's baseline, to line it up with text."""

    texture: object  # a moderngl.Texture
    width: int
    height: int
    baseline: int


def well_formed(tex: str) -> bool:
    """Whether braces and \\begin/\\end pair up. MicroTeX silently drops what follows an
    unclosed brace (x^{ draws x), so such a formula is shown as text instead."""
    depth = 0
    for match in re.finditer(r"\\[{}]|[{}]", tex):
        if len(match.group()) == 1:
            depth += 1 if match.group() == "{" else -1
            if depth < 0:
                return False
    environments: list[str] = []
    for kind, name in re.findall(r"\\(begin|end)\s*\{([^{}]*)\}", tex):
        if kind == "begin":
            environments.append(name)
        elif not environments or environments.pop() != name:
            return False
    return depth == 0 and not environments


class Formulas:
    """Renders formulas to textures once and draws them in ImGui; falls back to text.

    Textures are cached per (formula, size, style) for the life of this object; :meth:`release`
    frees them all (``generation`` then changes, so layouts that hold them know to rebuild)."""

    MAX_SIZES = 12  # sizes kept at once: each UI scale uses a few (text, display, the views' own)

    def __init__(self, ctx):
        self.ctx = ctx
        self._cache: dict[tuple[str, float, bool], FormulaImage | None] = {}
        self._sizes: OrderedDict[float, None] = OrderedDict()  # least recently used first
        self.available: bool | None = None
        self.warning: str | None = None
        self.generation = 0
        self.serial = next(_serials)  # never reused (an id() is): layouts holding textures key on it
        self.unreadable: set[str] = set()  # formulas MicroTeX could not parse (shown as text)

    def _init(self) -> None:
        import imgui_bundle
        from imgui_bundle import imgui_microtex

        reason = ensure_locale()
        fonts = Path(imgui_bundle.__file__).parent / "assets" / "fonts" / "latex"
        try:
            imgui_microtex.init(str(fonts / "latinmodern-math.clm1"), str(fonts / "latinmodern-math.otf"))
            self.available = True
        except Exception as exc:  # noqa: BLE001 (a missing font or library: formulas become text)
            self._warn(f"LaTeX is unavailable ({exc}); formulas are shown as text")
            self.available = False
        if reason:
            self._warn(f"LaTeX may fall back to text: {reason}")

    def _warn(self, message: str) -> None:
        if self.warning is None:
            self.warning = message
            log.warning(message)

    def image(self, tex: str, size: float = 22.0, display: bool = True) -> FormulaImage | None:
        """The formula rendered at ``size`` pixels (the font size of its letters), or None if it
        cannot be rendered (then show :func:`plain_text`). ``display``: TeX's display style
        (big operators, tall fractions), else the compact text style of inline math."""
        if self.available is None:
            self._init()
        key = (tex, round(size * 2.0) / 2.0, display)
        if key in self._cache:
            return self._cache[key]
        self._use_size(key[1])
        image = None
        if self.available and well_formed(tex):
            from imgui_bundle import imgui_microtex

            style = imgui_microtex.TexStyle.display if display else imgui_microtex.TexStyle.text
            try:
                formula = imgui_microtex.render(_for_microtex(tex), key[1], 0xFFFFFFFF, style)
                pixels = np.ascontiguousarray(formula.pixels_as_array())
                if formula.width > 0 and formula.height > 0 and not _error_marks(pixels):
                    texture = self.ctx.texture((formula.width, formula.height), 4, pixels.tobytes())
                    texture.filter = (self.ctx.LINEAR, self.ctx.LINEAR)
                    image = FormulaImage(texture, formula.width, formula.height, formula.baseline_y)
            except Exception as exc:  # noqa: BLE001 (e.g. the locale facet error)
                self._warn(f"LaTeX could not render ({exc}); formulas are shown as text")
        if image is None and self.available and tex not in self.unreadable:
            self.unreadable.add(tex)
            log.warning("LaTeX cannot draw %r; it is shown as text: %s", tex, plain_text(tex))
        self._cache[key] = image
        return image

    def _use_size(self, size: float) -> None:
        """Mark a size as in use; past MAX_SIZES the least recently used size's textures are freed
        (an app zoomed in and out all day would otherwise keep every size it ever showed)."""
        self._sizes[size] = None
        self._sizes.move_to_end(size)
        if len(self._sizes) > self.MAX_SIZES:
            old, _ = self._sizes.popitem(last=False)
            for key in [key for key in self._cache if key[1] == old]:
                image = self._cache.pop(key)
                if image is not None:
                    image.texture.release()
            self.generation += 1

    def render(self, tex: str, size: float = 22.0, display: bool = True):
        """The texture of a formula, or None if it cannot be rendered (then use :func:`plain_text`)."""
        image = self.image(tex, size, display)
        return image.texture if image is not None else None

    def draw(self, tex: str, size: float = 22.0, display: bool = True) -> None:
        """Draw a formula at the ImGui cursor (an image, or readable text if LaTeX is unavailable)."""
        from imgui_bundle import imgui

        image = self.image(tex, size * imgui.get_style().font_scale_main, display)
        if image is None:
            imgui.text_wrapped(plain_text(tex))
            return
        # a formula wider than the panel is shown smaller, whole, rather than cut at the edge
        shrink = min(1.0, max(imgui.get_content_region_avail().x, 1.0) / max(image.width, 1.0))
        imgui.image(imgui.ImTextureRef(image.texture.glo), imgui.ImVec2(image.width * shrink, image.height * shrink))

    def release(self) -> None:
        """Free every texture made so far (they are made again when next drawn)."""
        for image in self._cache.values():
            if image is not None:
                image.texture.release()
        self._cache.clear()
        self._sizes.clear()
        self.generation += 1


def _for_microtex(tex: str) -> str:
    """The formula as MicroTeX should read it: it spaces a slash like a binary operator (2 / η)
    where TeX sets it tight (2/η), so a bare slash becomes an ordinary symbol, {/}. A slash
    sized by \\big and its kin is left as it is."""
    return re.sub(r"(\\[bB]igg?[lrm]?\s*)?/", lambda m: m.group(0) if m.group(1) else "{/}", tex)


def _error_marks(pixels: np.ndarray) -> bool:
    """Whether MicroTeX drew an error: it writes an unknown command's name in red, whatever the
    formula's colour (white here)."""
    alpha, red, green = pixels[..., 3], pixels[..., 0].astype(np.int16), pixels[..., 1].astype(np.int16)
    return bool(np.any((alpha > 128) & (red - green > 96)))
