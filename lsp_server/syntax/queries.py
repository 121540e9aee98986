"""Per-language syntax facts: grammar entry points, query patterns and node-type sets.

Pure constant data (immutable mappings of frozen dataclasses). ``languages.py`` compiles
the query patterns; ``outline.py`` and ``context.py`` read the node-type sets.

Query patterns are kept as tuples of independent patterns so that the registry can
drop a pattern a given grammar version does not know (node names drift between
grammar releases) instead of losing the whole query. Every definitions pattern
captures ``@def`` (the definition node) and ``@name`` (its name); every imports
pattern captures ``@import``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class LanguageData:
    """What the syntax layer needs to know about one grammar."""

    module: str                      # importable grammar package
    attr: str                        # function in it returning the language pointer
    definitions: tuple[str, ...]     # query patterns capturing @def and @name
    imports: tuple[str, ...]         # query patterns capturing @import
    scope_types: frozenset[str]      # nodes whose header is an enclosing scope
    local_types: frozenset[str]      # an import below one of these is not file-level
    full_text_types: frozenset[str]  # record-like definitions shown whole when short
    header: re.Pattern[str]          # a line that starts a definition header


_PY_DEFS = (
    "(function_definition name: (identifier) @name) @def",
    "(class_definition name: (identifier) @name) @def",
    "(decorated_definition definition: (function_definition name: (identifier) @name)) @def",
    "(decorated_definition definition: (class_definition name: (identifier) @name)) @def",
)
_JS_DEFS = (
    "(function_declaration name: (identifier) @name) @def",
    "(generator_function_declaration name: (identifier) @name) @def",
    "(class_declaration name: (identifier) @name) @def",
    "(method_definition name: (property_identifier) @name) @def",
    "(variable_declarator name: (identifier) @name value: (arrow_function)) @def",
    "(variable_declarator name: (identifier) @name value: (function_expression)) @def",
    "(variable_declarator name: (identifier) @name value: (function)) @def",
)
_TS_DEFS = _JS_DEFS + (
    "(class_declaration name: (type_identifier) @name) @def",
    "(abstract_class_declaration name: (type_identifier) @name) @def",
    "(interface_declaration name: (type_identifier) @name) @def",
    "(type_alias_declaration name: (type_identifier) @name) @def",
    "(enum_declaration name: (identifier) @name) @def",
)
_GO_DEFS = (
    "(function_declaration name: (identifier) @name) @def",
    "(method_declaration name: (field_identifier) @name) @def",
    "(type_spec name: (type_identifier) @name) @def",
    "(type_alias name: (type_identifier) @name) @def",
)
_RUST_DEFS = (
    "(function_item name: (identifier) @name) @def",
    "(function_signature_item name: (identifier) @name) @def",
    "(struct_item name: (type_identifier) @name) @def",
    "(enum_item name: (type_identifier) @name) @def",
    "(union_item name: (type_identifier) @name) @def",
    "(trait_item name: (type_identifier) @name) @def",
    "(type_item name: (type_identifier) @name) @def",
    "(macro_definition name: (identifier) @name) @def",
)
_JAVA_DEFS = (
    "(class_declaration name: (identifier) @name) @def",
    "(interface_declaration name: (identifier) @name) @def",
    "(enum_declaration name: (identifier) @name) @def",
    "(record_declaration name: (identifier) @name) @def",
    "(annotation_type_declaration name: (identifier) @name) @def",
    "(method_declaration name: (identifier) @name) @def",
    "(constructor_declaration name: (identifier) @name) @def",
)
_C_FUNC_NAMES = "[(identifier) (field_identifier)] @name"
_C_DEFS = (
    f"(function_definition declarator: (function_declarator declarator: {_C_FUNC_NAMES})) @def",
    "(function_definition declarator: (pointer_declarator declarator:"
    f" (function_declarator declarator: {_C_FUNC_NAMES}))) @def",
    "(struct_specifier name: (type_identifier) @name body: (_)) @def",
    "(union_specifier name: (type_identifier) @name body: (_)) @def",
    "(enum_specifier name: (type_identifier) @name body: (_)) @def",
    "(type_definition declarator: (type_identifier) @name) @def",
    "(preproc_function_def name: (identifier) @name) @def",
)
_CPP_DEFS = _C_DEFS + (
    "(function_definition declarator: (function_declarator declarator:"
    " (qualified_identifier name: (identifier) @name))) @def",
    "(function_definition declarator: (reference_declarator"
    f" (function_declarator declarator: {_C_FUNC_NAMES}))) @def",
    "(class_specifier name: (type_identifier) @name body: (_)) @def",
    "(alias_declaration name: (type_identifier) @name) @def",
)

_PY_IMPORTS = (
    "(import_statement) @import",
    "(import_from_statement) @import",
    "(future_import_statement) @import",
)
_JS_IMPORTS = (
    "(import_statement) @import",
    '(lexical_declaration (variable_declarator value: (call_expression function: (identifier) @_f'
    ' (#eq? @_f "require")))) @import',
    '(variable_declaration (variable_declarator value: (call_expression function: (identifier) @_f'
    ' (#eq? @_f "require")))) @import',
)
_GO_IMPORTS = ("(package_clause) @import", "(import_declaration) @import")
_RUST_IMPORTS = ("(use_declaration) @import", "(extern_crate_declaration) @import")
_JAVA_IMPORTS = ("(package_declaration) @import", "(import_declaration) @import")
_C_IMPORTS = ("(preproc_include) @import",)
_CPP_IMPORTS = _C_IMPORTS + (
    "(using_declaration) @import",
    "(namespace_alias_definition) @import",
)

_JS_SCOPES = frozenset({
    "function_declaration", "generator_function_declaration", "function_expression",
    "function", "generator_function", "arrow_function", "class_declaration", "class",
    "method_definition",
})
_TS_SCOPES = _JS_SCOPES | {
    "abstract_class_declaration", "interface_declaration", "enum_declaration",
    "internal_module", "module",
}
_JS_LOCAL = frozenset({
    "function_declaration", "generator_function_declaration", "function_expression",
    "function", "generator_function", "arrow_function", "method_definition", "class_body",
})
_C_SCOPES = frozenset({"function_definition", "struct_specifier", "union_specifier", "enum_specifier"})
_C_FULL = frozenset({"struct_specifier", "union_specifier", "enum_specifier", "type_definition"})

_MODS = r"(?:(?:export|default|declare|abstract|async|public|private|protected|static|final|" \
        r"sealed|non-sealed|strictfp|synchronized|native|override|readonly)\s+)*"
_PY_HEADER = re.compile(r"^\s*(?:async\s+def|def|class)\s")
_JS_HEADER = re.compile(
    r"^\s*" + _MODS + r"(?:function\b|class\b|interface\b|enum\b|namespace\b|module\b)"
)
_GO_HEADER = re.compile(r"^\s*(?:func|type)\b")
_RUST_HEADER = re.compile(
    r"^\s*(?:pub(?:\([^)]*\))?\s+)?(?:(?:async|const|unsafe|default|extern(?:\s+\"[^\"]*\")?)\s+)*"
    r"(?:fn|impl|trait|struct|enum|union|mod)\b"
)
_NOT_DECL = r"(?!\s*(?:return|else|if|while|for|switch|case|do|goto|throw|delete|new|sizeof|await)\b)"
_JAVA_HEADER = re.compile(
    r"^\s*(?:@\w+(?:\([^)]*\))?\s+)*" + _MODS + r"(?:class|interface|enum|record|@interface)\b"
    r"|^" + _NOT_DECL + r"\s*(?:@\w+\s+)*" + _MODS + r"[\w<>\[\],.?\s]+\s+\w+\s*\([^;]*\)"
    r"\s*(?:throws\s+[\w.,\s]+)?$"
)
_C_HEADER = re.compile(
    r"^\s*(?:template\s*<.*>\s*)?(?:class|struct|enum|union|namespace)\b"
    r"|^" + _NOT_DECL + r"\s*[\w:<>,*&\s]+?[\s*&]+~?[\w:]+\s*\([^;]*\)"
    r"\s*(?:const\s*)?(?:noexcept\s*)?(?:override\s*)?(?:final\s*)?$"
)
#: Used for plain-text documents: any language's definition keywords.
ANY_HEADER = re.compile(
    r"^\s*(?:export\s+|pub\s+|public\s+|private\s+|static\s+|async\s+)*"
    r"(?:def|class|func|fn|function|impl|trait|struct|interface|enum)\b"
)

_JS = LanguageData(
    "tree_sitter_javascript", "language", _JS_DEFS, _JS_IMPORTS, _JS_SCOPES, _JS_LOCAL,
    frozenset(), _JS_HEADER,
)
_TS_FULL = frozenset({"interface_declaration", "type_alias_declaration", "enum_declaration"})

LANGUAGE_DATA: MappingProxyType[str, LanguageData] = MappingProxyType({
    "python": LanguageData(
        "tree_sitter_python", "language", _PY_DEFS, _PY_IMPORTS,
        frozenset({"function_definition", "class_definition"}),
        frozenset({"function_definition", "class_definition", "lambda"}),
        frozenset(), _PY_HEADER,
    ),
    "javascript": _JS,
    "typescript": LanguageData(
        "tree_sitter_typescript", "language_typescript", _TS_DEFS, _JS_IMPORTS, _TS_SCOPES,
        _JS_LOCAL, _TS_FULL, _JS_HEADER,
    ),
    "tsx": LanguageData(
        "tree_sitter_typescript", "language_tsx", _TS_DEFS, _JS_IMPORTS, _TS_SCOPES,
        _JS_LOCAL, _TS_FULL, _JS_HEADER,
    ),
    "go": LanguageData(
        "tree_sitter_go", "language", _GO_DEFS, _GO_IMPORTS,
        frozenset({"function_declaration", "method_declaration", "func_literal", "type_spec"}),
        frozenset({"function_declaration", "method_declaration", "func_literal"}),
        frozenset({"type_spec", "type_alias"}), _GO_HEADER,
    ),
    "rust": LanguageData(
        "tree_sitter_rust", "language", _RUST_DEFS, _RUST_IMPORTS,
        frozenset({"function_item", "impl_item", "trait_item", "struct_item", "enum_item",
                   "union_item", "mod_item"}),
        frozenset({"function_item", "mod_item", "impl_item", "trait_item", "closure_expression"}),
        frozenset({"struct_item", "enum_item", "union_item", "type_item"}), _RUST_HEADER,
    ),
    "java": LanguageData(
        "tree_sitter_java", "language", _JAVA_DEFS, _JAVA_IMPORTS,
        frozenset({"class_declaration", "interface_declaration", "enum_declaration",
                   "record_declaration", "annotation_type_declaration", "method_declaration",
                   "constructor_declaration"}),
        frozenset({"class_body"}),
        frozenset({"enum_declaration"}), _JAVA_HEADER,
    ),
    "c": LanguageData(
        "tree_sitter_c", "language", _C_DEFS, _C_IMPORTS, _C_SCOPES,
        frozenset({"function_definition"}), _C_FULL, _C_HEADER,
    ),
    "cpp": LanguageData(
        "tree_sitter_cpp", "language", _CPP_DEFS, _CPP_IMPORTS,
        _C_SCOPES | {"class_specifier", "namespace_definition", "lambda_expression"},
        frozenset({"function_definition", "lambda_expression", "field_declaration_list"}),
        _C_FULL | {"alias_declaration"}, _C_HEADER,
    ),
})

#: Node types (or type fragments) that mark comments, strings and code inside strings.
COMMENT_MARK = "comment"
STRING_TYPES = frozenset({
    "string", "string_content", "string_fragment", "template_string", "string_literal",
    "raw_string_literal", "interpreted_string_literal", "char_literal", "character_literal",
    "rune_literal", "text_block", "system_lib_string", "string_start",
    "string_end", "interpreted_string_literal_content", "raw_string_literal_content",
    "string_value",
})
INTERPOLATION_TYPES = frozenset({
    "interpolation", "template_substitution", "format_expression", "escape_interpolation",
})
