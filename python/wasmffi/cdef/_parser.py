"""Reads C declarations into the type model: a small directive pass, then pycparser, then a walk
of its AST that resolves every name (typedefs, tags, constants) to the values in _model.

pycparser has no preprocessor, so the pass before it does the little cdef allows: it blanks
comments (keeping wasmffi annotation comments aside, with their positions), collects
`#define NAME <integer expression>`, ignores `#include` of <stdint.h>/<stddef.h>/<stdbool.h>,
and refuses every other directive. Blanking instead of deleting keeps pycparser's line and column
numbers those of the user's text, so its errors point at the right place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Optional, Set, Tuple

from pycparser import c_ast, c_parser  # type: ignore[import-untyped]  # pycparser ships no type information

from ._model import (PRIMITIVES, HEADER_TYPE_NAMES, Array, CDefError, CType, Enum, Field, FunctionType,
                     Param, Pointer, Primitive, Struct, Union, primitive_from_words)

_FILE = "<cdef>"
_ALLOWED_HEADERS = ("stdint.h", "stddef.h", "stdbool.h", "uchar.h", "wchar.h")
# Annotation comments (docs/cdef.md): written after a parameter's name, they say how wasmffi
# marshals it. Any other comment is just a comment.
_ANNOTATION = re.compile(r"^\s*(out|inout|in|nolen|len\(\s*[A-Za-z_]\w*\s*\)|sizeof\(\s*[A-Za-z_]\w*\s*\)"
                         r"|size_is\(\s*[A-Za-z_]\w*\s*\)|length_is\(\s*return\s*\))\s*$")
_IDENT = re.compile(r"[A-Za-z_]\w*")
# A comment made only of annotation-shaped words (`name(param)`, or annotation keywords) that is
# not one annotation is almost surely a misspelt or doubled one (`/* out sizedby(n) */`): taken
# as a plain comment, it would silently change how the parameter is marshalled.
_ANNOTATION_WORD = re.compile(r"[A-Za-z_]\w*\s*\(\s*[A-Za-z_]\w*\s*\)|out|inout|in|nolen")
_ANNOTATION_LIKE = re.compile(r"^\s*(?:(?:[A-Za-z_]\w*\s*\(\s*[A-Za-z_]\w*\s*\)|out|inout|in|nolen)\s*)+$")
_C_WORDS = frozenset("""auto break case char const continue default do double else enum extern float for
goto if inline int long register restrict return short signed sizeof static struct switch typedef
union unsigned void volatile while _Bool _Complex _Alignas _Atomic _Noreturn""".split())


@dataclass
class Annotation:
    line: int
    col: int      # 1-based column of the comment's first character
    text: str     # normalised: "out", "len(p)", ...


@dataclass
class Source:
    """The text pycparser sees, plus what the directive pass took out of it."""

    text: str
    defines: Dict[str, int] = field(default_factory=dict)
    annotations: List[Annotation] = field(default_factory=list)


def _where(line: int, col: Optional[int] = None) -> str:
    return f"cdef line {line}" + (f", column {col}" if col else "")


def preprocess(src: str) -> Source:
    """Blanks comments and directives (keeping line and column numbers), collects integer
    #defines and annotation comments."""
    if not isinstance(src, str):
        raise TypeError(f"cdef source must be str, not {type(src).__name__}")
    out = list(src)
    annotations = []
    i, n, line, line_start = 0, len(src), 1, 0
    while i < n:
        c = src[i]
        if c == "\n":
            line, line_start = line + 1, i + 1
            i += 1
        elif c in "\"'":
            j = i + 1
            while j < n and src[j] != c and src[j] != "\n":
                j += 2 if src[j] == "\\" else 1
            i = j + 1
        elif src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            for k in range(i, j):
                out[k] = " "
            i = j
        elif src.startswith("/*", i):
            j = src.find("*/", i + 2)
            if j < 0:
                raise CDefError(f"{_where(line, i - line_start + 1)}: unterminated /* comment")
            body = src[i + 2:j]
            m = _ANNOTATION.match(body)
            if m:
                annotations.append(Annotation(line, i - line_start + 1, re.sub(r"\s+", "", m.group(1))))
            elif _ANNOTATION_LIKE.match(body) and ("(" in body or len(_ANNOTATION_WORD.findall(body)) > 1):
                raise CDefError(f"{_where(line, i - line_start + 1)}: /*{body}*/ looks like an annotation "
                                "but is not one; an annotation comment holds exactly one of: out, inout, in, "
                                "nolen, len(p), sizeof(p), size_is(n), length_is(return) (docs/cdef.md)")
            for k in range(i, j + 2):
                if out[k] != "\n":
                    out[k] = " "
                else:
                    line, line_start = line + 1, k + 1
            i = j + 2
        else:
            i += 1
    text = "".join(out)
    defines: Dict[str, int] = {}
    lines = text.split("\n")
    k = 0
    while k < len(lines):
        stripped = lines[k].strip()
        if not stripped.startswith("#"):
            k += 1
            continue
        first = k
        directive = lines[k].rstrip()
        while directive.endswith("\\") and k + 1 < len(lines):
            lines[k] = ""
            k += 1
            directive = directive[:-1] + " " + lines[k].rstrip()
        lines[k] = ""
        _directive(directive.strip(), first + 1, defines)
        k += 1
    return Source("\n".join(lines), defines, annotations)


_DEFINE = re.compile(r"#\s*define\s+([A-Za-z_]\w*)(\(?)\s*(.*)$")
_INCLUDE = re.compile(r"#\s*include\s*[<\"]([^>\"]+)[>\"]\s*$")


def _directive(d: str, line: int, defines: Dict[str, int]) -> None:
    m = _INCLUDE.match(d)
    if m:
        if m.group(1) in _ALLOWED_HEADERS:
            return
        raise CDefError(f"{_where(line)}: #include <{m.group(1)}> is not supported: cdef knows the "
                        f"names of <stdint.h>, <stddef.h> and <stdbool.h>; declare anything else")
    m = _DEFINE.match(d)
    if m:
        name, paren, body = m.groups()
        if paren:
            raise CDefError(f"{_where(line)}: function-like macro {name}() is not supported "
                            f"(only #define NAME <integer constant>)")
        if not body:
            raise CDefError(f"{_where(line)}: #define {name} has no value "
                            f"(only #define NAME <integer constant>)")
        value = _eval_define(name, body, line, defines)
        if defines.get(name, value) != value:
            raise CDefError(f"{_where(line)}: #define {name} redefines {name} "
                            f"({defines[name]}) with a different value ({value})")
        defines[name] = value
        return
    m = re.match(r"#\s*(\w*)", d)
    word = (m.group(1) if m else "") or d
    raise CDefError(f"{_where(line)}: #{word} is not supported: cdef has no preprocessor, only "
                    f"#define NAME <integer constant> and #include of <stdint.h>, <stddef.h>, <stdbool.h>")


def _eval_define(name: str, body: str, line: int, defines: Dict[str, int]) -> int:
    try:
        ast = c_parser.CParser().parse(f"int __wasmffi_define = ({body});", _FILE)
        expr = ast.ext[0].init
    except c_parser.ParseError:
        expr = None
    if expr is None:
        raise CDefError(f"{_where(line)}: #define {name} {body}: only integer constant "
                        f"expressions are supported")
    try:
        return const_eval(expr, defines)
    except CDefError as e:
        raise CDefError(f"{_where(line)}: #define {name} {body}: {e}") from None


_INT_LITERAL = re.compile(r"^(0[xX][0-9a-fA-F]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)([uUlL]*)$")


def _int_literal(text: str) -> int:
    m = _INT_LITERAL.match(text)
    if not m:
        raise CDefError(f"{text} is not an integer constant")
    digits = m.group(1)
    if digits[:2] in ("0x", "0X"):
        return int(digits, 16)
    if digits[:2] in ("0b", "0B"):
        return int(digits[2:], 2)
    if len(digits) > 1 and digits[0] == "0":
        return int(digits, 8)
    return int(digits)


_CHAR_ESCAPES = {"n": 10, "t": 9, "r": 13, "0": 0, "\\": 92, "'": 39, '"': 34, "a": 7, "b": 8,
                 "f": 12, "v": 11}


def _char_literal(text: str) -> int:
    body = text[1:-1]
    if len(body) == 1:
        return ord(body)
    if len(body) == 2 and body[0] == "\\" and body[1] in _CHAR_ESCAPES:
        return _CHAR_ESCAPES[body[1]]
    if body.startswith("\\x"):
        return int(body[2:], 16)
    raise CDefError(f"character constant {text} is not supported")


def _c_div(a: int, b: int) -> int:
    if b == 0:
        raise CDefError("division by zero in a constant expression")
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


_BINOPS: Dict[str, Callable[[int, int], int]] = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
    "/": _c_div, "%": lambda a, b: a - _c_div(a, b) * b,
    "<<": lambda a, b: a << b, ">>": lambda a, b: a >> b,
    "&": lambda a, b: a & b, "|": lambda a, b: a | b, "^": lambda a, b: a ^ b,
    "==": lambda a, b: int(a == b), "!=": lambda a, b: int(a != b), "<": lambda a, b: int(a < b),
    ">": lambda a, b: int(a > b), "<=": lambda a, b: int(a <= b), ">=": lambda a, b: int(a >= b),
    "&&": lambda a, b: int(bool(a) and bool(b)), "||": lambda a, b: int(bool(a) or bool(b)),
}


def const_eval(node: Any, names: Dict[str, int]) -> int:
    """Evaluates an integer constant expression (literals, earlier #defines and enum members,
    arithmetic, shifts, comparisons, ?:). Python ints: no overflow here; callers range-check."""
    if isinstance(node, c_ast.Constant):
        if node.type == "char":
            return _char_literal(node.value)
        if node.type in ("int", "unsigned int", "long int", "unsigned long int", "long long int",
                         "unsigned long long int") or node.type.endswith("int"):
            return _int_literal(node.value)
        raise CDefError(f"{node.value} is not an integer constant")
    if isinstance(node, c_ast.ID):
        if node.name in names:
            return names[node.name]
        raise CDefError(f"unknown constant {node.name!r}")
    if isinstance(node, c_ast.UnaryOp):
        v = const_eval(node.expr, names)
        ops: Dict[str, Callable[[int], int]] = {"-": lambda x: -x, "+": lambda x: x, "~": lambda x: ~x, "!": lambda x: int(not x)}
        if node.op in ops:
            return ops[node.op](v)
        raise CDefError(f"operator {node.op} is not supported in a constant expression")
    if isinstance(node, c_ast.BinaryOp):
        if node.op not in _BINOPS:
            raise CDefError(f"operator {node.op} is not supported in a constant expression")
        a, b = const_eval(node.left, names), const_eval(node.right, names)
        if node.op in ("<<", ">>") and b < 0:
            raise CDefError("negative shift count in a constant expression")
        return _BINOPS[node.op](a, b)
    if isinstance(node, c_ast.TernaryOp):
        return const_eval(node.iftrue if const_eval(node.cond, names) else node.iffalse, names)
    if isinstance(node, c_ast.Cast):
        raise CDefError("casts are not supported in a constant expression")
    raise CDefError(f"{type(node).__name__} is not supported in an integer constant expression")


# --- from pycparser's AST to the model ---------------------------------------------------------

@dataclass
class Declarations:
    """Everything one cdef source declares, by name."""

    functions: Dict[str, FunctionType]
    structs: Dict[str, Struct]      # by tag
    unions: Dict[str, Union]        # by tag
    enums: Dict[str, Enum]          # by tag
    typedefs: Dict[str, CType]
    constants: Dict[str, int]       # #defines and enum members
    function_coords: Dict[str, Tuple[int, int]]


def _prelude(type_names: Iterable[str]) -> str:
    # pycparser must be told which identifiers are type names; the typedef target is never read.
    decls = "".join(f"typedef int {n};" for n in type_names)
    return f"{decls}\n#line 1 \"{_FILE}\"\n"


def _parse_c(text: str, type_names: Iterable[str]) -> c_ast.FileAST:
    parser = c_parser.CParser()
    try:
        return parser.parse(_prelude(type_names) + text, _FILE)
    except c_parser.ParseError as e:
        raise _syntax_error(str(e), text, parser, type_names) from None


def _syntax_error(msg: str, text: str, parser: Any, type_names: Iterable[str]) -> CDefError:
    m = re.match(rf"{re.escape(_FILE)}:(\d+)(?::(\d+))?:\s*(.*)$", msg, re.S)
    line, col, what = (int(m.group(1)), int(m.group(2)) if m.group(2) else None, m.group(3)) if m \
        else (None, None, msg)
    unknown = _guess_unknown_type(text, line, col, parser, type_names)
    if unknown:
        uline, ucol, name = unknown
        return CDefError(f"{_where(uline, ucol)}: unknown type name {name!r}")
    where = _where(line, col) if line else "cdef"
    what = what.strip()
    if what.startswith(f"{_FILE}:"):
        what = what[len(_FILE) + 1:].strip()
    if what == "At end of input":
        what = "syntax error at the end of the declarations (a missing ';' or '}'?)"
    if what.startswith("before: "):
        what = f"syntax error before {what[8:]!r}"
    src_line = text.split("\n")[line - 1].strip() if line and line <= text.count("\n") + 1 else ""
    return CDefError(f"{where}: {what}" + (f"\n    {src_line}" if src_line else ""))


def _guess_unknown_type(text: str, line: Optional[int], col: Optional[int], parser: Any,
                        type_names: Iterable[str]) -> Optional[Tuple[int, int, str]]:
    """pycparser reports an unknown type name as a syntax error near it; find the identifier used
    as a type (followed by a declarator) that no typedef declares, closest before the error."""
    try:
        known: Set[str] = {k for k, is_type in parser._scope_stack[0].items() if is_type}
    except (AttributeError, IndexError, TypeError):
        known = set()
    known |= set(type_names) | set(PRIMITIVES)
    best = None
    for ln, src_line in enumerate(text.split("\n"), 1):
        if line is not None and ln > line:
            break
        for m in re.finditer(r"(?<![\w.])([A-Za-z_]\w*)(?=[\s*]*[A-Za-z_(])", src_line):
            word = m.group(1)
            if word in _C_WORDS or word in known:
                continue
            before = src_line[:m.start()].rstrip()
            if re.search(r"\b(struct|union|enum)$", before) or before.endswith(("[", "=")):
                continue
            after = src_line[m.end():].lstrip(" \t*")
            nxt = _IDENT.match(after)
            if after.startswith("(") or (nxt and nxt.group(0) in _C_WORDS - {"const", "volatile", "restrict"}):
                continue
            if line is not None and ln == line and col is not None and m.start() + 1 > col:
                continue
            best = (ln, m.start() + 1, word)
    return best


class _Reader:
    """Walks pycparser's AST. One per cdef source; `frozen` readers (for CDef.parse_type) may only
    refer to what is already declared."""

    def __init__(self, src: Source, decls: Optional[Declarations] = None) -> None:
        self.src = src
        if decls is None:
            decls = Declarations({}, {}, {}, {}, {}, dict(src.defines), {})
            self.frozen = False
        else:
            self.frozen = True
        self.d = decls
        # (line, column, end column, parameter index, id of its FuncDecl) of each named parameter
        self.param_positions: List[Tuple[int, int, int, int, int]] = []

    # types -------------------------------------------------------------------------------------
    def type_of(self, node: Any, where: str) -> Tuple[CType, bool]:
        """(type, const-qualified) of a declarator subtree."""
        if isinstance(node, c_ast.TypeDecl):
            base = self.base_type(node.type, where)
            return base, "const" in (node.quals or ())
        if isinstance(node, c_ast.PtrDecl):
            inner, const = self.type_of(node.type, where)
            return Pointer(inner, const), "const" in (node.quals or ())
        if isinstance(node, c_ast.ArrayDecl):
            inner, const = self.type_of(node.type, where)
            if isinstance(inner, Primitive) and inner.name == "void":
                raise CDefError(f"{where}: array of void")
            length = None
            if node.dim is not None:
                try:
                    length = const_eval(node.dim, self.d.constants)
                except CDefError as e:
                    raise CDefError(f"{where}: array size: {e}") from None
                if length <= 0:
                    raise CDefError(f"{where}: array size must be positive, not {length}")
            return Array(inner, length, const), const
        if isinstance(node, c_ast.FuncDecl):
            return self.function_type(node, where), False
        if isinstance(node, c_ast.Typename):
            return self.type_of(node.type, where)
        raise CDefError(f"{where}: {type(node).__name__} is not supported")

    def base_type(self, node: Any, where: str) -> CType:
        if isinstance(node, c_ast.IdentifierType):
            names = node.names
            if len(names) == 1 and names[0] in self.d.typedefs:
                return self.d.typedefs[names[0]]
            try:
                prim = primitive_from_words(names)
            except CDefError as e:
                raise CDefError(f"{where}: {e}") from None
            if prim is None:
                spelled = " ".join(names)
                c = node.coord
                at = _where(c.line, c.column) if c and c.line else where
                raise CDefError(f"{at}: unknown type name {spelled!r}")
            return prim
        if isinstance(node, c_ast.Struct):
            return self.record(node, Struct, self.d.structs, where)
        if isinstance(node, c_ast.Union):
            return self.record(node, Union, self.d.unions, where)
        if isinstance(node, c_ast.Enum):
            return self.enum(node, where)
        raise CDefError(f"{where}: {type(node).__name__} is not supported")

    def record(self, node: Any, cls: type[Struct], table: Dict[str, Any], where: str) -> Struct:
        kw = cls.keyword
        if node.decls is None:           # a reference: `struct s` (declares it if new)
            if node.name is None:
                raise CDefError(f"{where}: anonymous {kw} without members")
            t = table.get(node.name)
            if t is None:
                if self.frozen:
                    raise CDefError(f"unknown type name '{kw} {node.name}'")
                t = table[node.name] = cls(node.name)
            return t
        if self.frozen:
            raise CDefError(f"{where}: cannot define {kw} {node.name or ''} here".rstrip())
        if node.name is not None:
            t = table.get(node.name)
            if t is None:
                t = table[node.name] = cls(node.name)
            elif t.complete:
                raise CDefError(f"{where}: {kw} {node.name} is defined twice")
        else:
            t = cls(None)
        label = t.spell()
        fields = []
        seen = set()
        if not node.decls:
            raise CDefError(f"{where}: {label} has no members (empty structs are not C)")
        for decl in node.decls:
            fwhere = f"{_coord(decl)}{label}"
            if decl.name is None:
                raise CDefError(f"{fwhere}: anonymous members are not supported; name the member")
            fwhere = f"{_coord(decl)}{label}, member {decl.name!r}"
            if decl.bitsize is not None:
                raise CDefError(f"{fwhere}: bitfields are not supported (their layout is "
                                f"compiler-specific); declare the containing integer instead")
            ftype, _ = self.type_of(decl.type, fwhere)
            self.check_complete(ftype, fwhere)
            if decl.name in seen:
                raise CDefError(f"{fwhere}: duplicate member")
            seen.add(decl.name)
            fields.append(Field(decl.name, ftype))
        t.fields = tuple(fields)
        return t

    def check_complete(self, t: CType, where: str) -> None:
        if isinstance(t, Array):
            if t.length is None:
                raise CDefError(f"{where}: flexible array members are not supported")
            self.check_complete(t.of, where)
        elif isinstance(t, Struct) and not t.complete:
            raise CDefError(f"{where}: {t.spell()} is incomplete here (only a pointer to it is allowed)")
        elif isinstance(t, Primitive) and t.name == "void":
            raise CDefError(f"{where}: a value cannot have type void")
        elif isinstance(t, FunctionType):
            raise CDefError(f"{where}: a function cannot be a member or parameter; use a pointer")

    def enum(self, node: Any, where: str) -> Enum:
        if node.values is None:
            if node.name is None or node.name not in self.d.enums:
                raise CDefError(f"{where}: enum {node.name} is used before it is defined "
                                f"(its size depends on its values)")
            return self.d.enums[node.name]
        if self.frozen:
            raise CDefError(f"{where}: cannot define enum {node.name or ''} here".rstrip())
        if node.name is not None and node.name in self.d.enums:
            raise CDefError(f"{where}: enum {node.name} is defined twice")
        members, value = [], -1
        for e in node.values.enumerators:
            if e.value is not None:
                try:
                    value = const_eval(e.value, self.d.constants)
                except CDefError as err:
                    raise CDefError(f"{_coord(e)}enum member {e.name}: {err}") from None
            else:
                value += 1
            if e.name in self.d.constants:
                raise CDefError(f"{_coord(e)}{e.name} is already defined")
            self.d.constants[e.name] = value
            members.append((e.name, value))
        lo, hi = min(v for _, v in members), max(v for _, v in members)
        if lo >= 0:
            base = PRIMITIVES["unsigned int"] if hi < 2**32 else PRIMITIVES["unsigned long long"]
        else:
            base = PRIMITIVES["int"] if -2**31 <= lo and hi < 2**31 else PRIMITIVES["long long"]
        if hi >= 2**64 or lo < -2**63 or (lo < 0 and hi >= 2**63):
            raise CDefError(f"{where}: enum {node.name or ''} values do not fit in 64 bits")
        t = Enum(node.name, tuple(members), base)
        if node.name is not None:
            self.d.enums[node.name] = t
        return t

    def function_type(self, node: c_ast.FuncDecl, where: str) -> FunctionType:
        result, _ = self.type_of(node.type, where)
        if isinstance(result, Array):
            raise CDefError(f"{where}: a function cannot return an array")
        if isinstance(result, FunctionType):
            raise CDefError(f"{where}: a function cannot return a function")
        if isinstance(result, Struct) and not result.complete:
            raise CDefError(f"{where}: returns incomplete {result.spell()}")
        params: List[Param] = []
        plist = node.args.params if node.args is not None else []
        for i, p in enumerate(plist):
            if isinstance(p, c_ast.EllipsisParam):
                raise CDefError(f"{where}: variadic functions (...) are not supported: wasm has "
                                f"no variadic calling convention wasmffi could fill")
            if isinstance(p, c_ast.ID):
                raise CDefError(f"{where}: old-style parameter list; declare parameter types")
            pname = getattr(p, "name", None)
            pwhere = f"{where}, parameter {pname or i + 1}"
            ptype, _ = self.type_of(p.type, pwhere)
            if isinstance(ptype, Primitive) and ptype.name == "void":
                if len(plist) == 1 and pname is None:
                    break
                raise CDefError(f"{pwhere} has type void")
            if isinstance(ptype, FunctionType):
                ptype = Pointer(ptype)  # a function parameter means a pointer to one, as in C
            if not isinstance(ptype, (Array, Pointer)):
                self.check_complete(ptype, pwhere)
            elif isinstance(ptype, Array):
                self.check_complete(ptype.of, pwhere)
            params.append(Param(pname, ptype))
            if pname is not None:
                td = _innermost(p.type)
                if td is not None and td.coord is not None and td.coord.line:
                    self.param_positions.append((td.coord.line, td.coord.column,
                                                 td.coord.column + len(pname), len(params) - 1, id(node)))
        names = [p.name for p in params if p.name is not None]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise CDefError(f"{where}: parameter {sorted(dup)[0]!r} is declared twice")
        return FunctionType(result, tuple(params))

    # declarations ------------------------------------------------------------------------------
    def read(self, ast: c_ast.FileAST, skip: int) -> None:
        for node in ast.ext[skip:]:
            where = _coord(node).rstrip(": ") or "cdef"
            if isinstance(node, c_ast.FuncDef):
                raise CDefError(f"{where}: function bodies are not allowed in a cdef (declare "
                                f"{node.decl.name}() without its body)")
            if isinstance(node, c_ast.Pragma):
                raise CDefError(f"{where}: #pragma is not supported")
            if isinstance(node, c_ast.Typedef):
                self.typedef(node, where)
            elif isinstance(node, c_ast.Decl):
                self.decl(node, where)
            else:
                raise CDefError(f"{where}: {type(node).__name__} is not supported")

    def typedef(self, node: c_ast.Typedef, where: str) -> None:
        t, _ = self.type_of(node.type, f"{where}: typedef {node.name}")
        name = node.name
        if name in HEADER_TYPE_NAMES:
            builtin = PRIMITIVES[name]
            if not (isinstance(t, Primitive) and t.kind == builtin.kind and t.size == builtin.size) \
                    and not (name == "bool" and isinstance(t, Primitive) and t.name == "_Bool"):
                raise CDefError(f"{where}: typedef {t.spell(name)} conflicts with the standard "
                                f"{name} ({builtin.kind}, "
                                f"{f'{builtin.size} bytes' if builtin.size else 'pointer-sized'})")
            return
        old = self.d.typedefs.get(name)
        if old is not None and old != t:
            raise CDefError(f"{where}: typedef {name} is redefined with a different type")
        if isinstance(t, (Struct, Enum)) and t.name is None and t.display is None:
            t.display = name
        self.d.typedefs[name] = t

    def decl(self, node: c_ast.Decl, where: str) -> None:
        if isinstance(node.type, (c_ast.Struct, c_ast.Union, c_ast.Enum)) and node.name is None:
            self.base_type(node.type, where)   # a tag declaration or definition
            return
        if isinstance(node.type, c_ast.FuncDecl):
            t = self.function_type(node.type, f"{where}: {node.name}()")
            old = self.d.functions.get(node.name)
            if old is not None and _signature_key(old) != _signature_key(t):
                raise CDefError(f"{where}: {node.name}() is declared twice with different types")
            self.d.functions[node.name] = t
            c = node.coord
            self.d.function_coords[node.name] = (c.line, c.column) if c else (0, 0)
            return
        raise CDefError(f"{where}: declaring variable {node.name!r} is not supported "
                        f"(cdef declares functions, types and constants)")

    def freeze(self) -> None:
        """Freezes every struct, union and enum reachable from the declarations."""
        seen: Set[int] = set()

        def walk(t: CType) -> None:
            if id(t) in seen:
                return
            seen.add(id(t))
            if isinstance(t, (Pointer, Array)):
                walk(t.to if isinstance(t, Pointer) else t.of)
            elif isinstance(t, FunctionType):
                walk(t.result)
                for p in t.params:
                    walk(p.type)
            elif isinstance(t, Struct):
                for f in t.fields or ():
                    walk(f.type)
                t._freeze()
            elif isinstance(t, Enum):
                t._freeze()

        for table in (self.d.structs, self.d.unions, self.d.enums, self.d.typedefs, self.d.functions):
            for t in table.values():
                walk(t)


def _signature_key(ft: FunctionType) -> Tuple[CType, Tuple[CType, ...]]:
    # Parameter names may differ between two declarations of one function, as in C.
    return ft.result, tuple(p.type for p in ft.params)


def _innermost(node: Any) -> Any:
    while node is not None and not isinstance(node, c_ast.TypeDecl):
        node = getattr(node, "type", None)
    return node


def _coord(node: Any) -> str:
    c = getattr(node, "coord", None)
    if c is None or not c.line or c.file != _FILE:
        return ""
    return f"{_where(c.line, c.column)}: "


def _attach_annotations(reader: _Reader, src: Source) -> Dict[int, Dict[int, List[str]]]:
    """Maps each annotation comment to the parameter whose name it follows (same line, only array
    brackets between them); any other placement is an error, not a silently ignored comment."""
    lines = src.text.split("\n")
    result: Dict[int, Dict[int, List[str]]] = {}
    for a in src.annotations:
        owner = None
        for line, col, end, index, fid in reader.param_positions:
            if line == a.line and end <= a.col:
                between = lines[line - 1][end - 1:a.col - 1]
                if re.fullmatch(r"\s*(\[[^\[\],;()]*\]\s*)*", between):
                    owner = (fid, index)
        if owner is None:
            raise CDefError(f"{_where(a.line, a.col)}: annotation /* {a.text} */ must follow a "
                            f"parameter name (e.g. `uint8_t *digest /* out */`)")
        result.setdefault(owner[0], {}).setdefault(owner[1], []).append(a.text)
    return result


# pycparser parses (and our reader walks) by recursion: input nested deeper than Python's
# recursion limit allows (200 parentheses were enough) must still be a CDefError.
TOO_DEEP = ("declarations nested too deeply to parse (the C parser is recursive and reached "
            "Python's recursion limit); name the inner parts with typedefs or #defines")


def parse(text: str) -> Declarations:
    """Parses a cdef source into Declarations; CDefError on anything it cannot use."""
    try:
        return _parse(text)
    except RecursionError:
        raise CDefError(TOO_DEEP) from None


def _parse(text: str) -> Declarations:
    src = preprocess(text)
    ast = _parse_c(src.text, HEADER_TYPE_NAMES)
    reader = _Reader(src)
    reader.read(ast, len(HEADER_TYPE_NAMES))
    notes = _attach_annotations(reader, src)
    if notes:
        _apply_annotations(reader, ast, notes)
    reader.freeze()
    return reader.d


def _apply_annotations(reader: _Reader, ast: Any, notes: Dict[int, Dict[int, List[str]]]) -> None:
    # Annotations were keyed by the FuncDecl node they sit in; only top-level functions take them.
    fids = {}
    for node in ast.ext:
        if isinstance(node, c_ast.Decl) and isinstance(node.type, c_ast.FuncDecl):
            fids[id(node.type)] = node.name
    for fid, per_param in notes.items():
        name = fids.get(fid)
        if name is None:
            raise CDefError("annotations are only allowed on the parameters of a declared function")
        ft = reader.d.functions[name]
        params = list(ft.params)
        for index, texts in per_param.items():
            params[index] = Param(params[index].name, params[index].type, tuple(texts))
        reader.d.functions[name] = FunctionType(ft.result, tuple(params))


def parse_type(text: str, decls: Declarations) -> CType:
    """Parses a type name ("uint8_t[64]", "struct point *", "my_t") against existing declarations."""
    try:
        return _parse_type(text, decls)
    except RecursionError:
        raise CDefError(TOO_DEEP) from None


def _parse_type(text: str, decls: Declarations) -> CType:
    if not isinstance(text, str):
        raise TypeError(f"a C type name must be str, not {type(text).__name__}")
    src = preprocess(text)
    if src.defines or src.annotations or "\n" in text.strip() or ";" in text:
        raise CDefError(f"{text!r} is not a C type name")
    names = tuple(HEADER_TYPE_NAMES) + tuple(decls.typedefs)
    known = set(names) | set(PRIMITIVES) | _C_WORDS
    first = re.match(r"\s*(?:(?:const|volatile)\s+)*([A-Za-z_]\w*)", src.text)
    if first and first.group(1) not in known:
        raise CDefError(f"unknown type name {first.group(1)!r} in {text!r}")
    try:
        ast = _parse_c(f"void __wasmffi_type({src.text});", names)
    except CDefError as e:
        raise CDefError(f"{text!r} is not a C type name ({e})") from None
    node = ast.ext[len(names)]
    params = node.type.args.params if node.type.args else []
    if len(params) != 1 or not isinstance(params[0], c_ast.Typename) or params[0].name is not None:
        raise CDefError(f"{text!r} is not a C type name")
    reader = _Reader(src, decls)
    t, _ = reader.type_of(params[0].type, f"type {text!r}")
    return t
