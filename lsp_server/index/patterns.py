"""Per-language facts the symbol index adds to the syntax layer's definitions query.

Pure constant data. ``EXTRA_PATTERNS`` finds what the outline does not: module-level
constants (Python UPPER_CASE assignments, JS/TS ``const``, Go ``const``/exported
``var``, Rust ``const``/``static``, Java ``static final`` fields, C ``#define`` and
``const``) and declarations without a body (C/C++ prototypes, TS signatures). Each
entry is ``(kind, pattern, parent)``; every pattern captures ``@def`` and ``@name``, and
the index keeps or drops a match by the rule named after the kind (see ``extract.py``).

"Module-level" is not written as a pattern rooted at the file's root node
(``(module (expression_statement ...))``): tree-sitter walks every child of the root for
such a pattern, whatever byte range the query is limited to, which made each 8 KB
chunk of a 2 MB file cost about 100 ms. Such a pattern captures its outermost node
as ``@_top`` instead, and ``parent`` names the node type that node's parent must have.
"""

from __future__ import annotations

from types import MappingProxyType

Pattern = tuple[str, str, str]  # (kind, tree-sitter query pattern, required parent of @_top or "")

_PY: tuple[Pattern, ...] = (
    ("constant", "(expression_statement (assignment left: (identifier) @name)) @def @_top", "module"),
    ("type", "(type_alias_statement (type (identifier) @name)) @def @_top", "module"),
)
_JS: tuple[Pattern, ...] = (
    ("constant", "(lexical_declaration (variable_declarator name: (identifier) @name)) @def @_top", "program"),
    ("constant", "(export_statement declaration: (lexical_declaration"
                 " (variable_declarator name: (identifier) @name)) @def) @_top", "program"),
)
_TS: tuple[Pattern, ...] = _JS + (
    ("function", "(function_signature name: (identifier) @name) @def", ""),
    ("module", "(internal_module name: (identifier) @name) @def @_top", "program"),
    ("module", "(export_statement declaration: (internal_module name: (identifier) @name) @def) @_top", "program"),
)
_GO: tuple[Pattern, ...] = (
    ("constant", "(const_declaration (const_spec name: (identifier) @name) @def) @_top", "source_file"),
    ("variable", "(var_declaration (var_spec name: (identifier) @name) @def) @_top", "source_file"),
)
_RUST: tuple[Pattern, ...] = (
    ("constant", "(const_item name: (identifier) @name) @def", ""),
    ("constant", "(static_item name: (identifier) @name) @def", ""),
)
_JAVA: tuple[Pattern, ...] = (
    ("constant", "(field_declaration (modifiers) declarator: (variable_declarator name: (identifier) @name)) @def",
     ""),
    ("constant", "(constant_declaration declarator: (variable_declarator name: (identifier) @name)) @def", ""),
)
_C_PROTO = (
    "(declaration declarator: (function_declarator declarator: (identifier) @name)) @def @_top",
    "(declaration declarator: (pointer_declarator declarator:"
    " (function_declarator declarator: (identifier) @name))) @def @_top",
)
_C: tuple[Pattern, ...] = (
    ("constant", "(preproc_def name: (identifier) @name) @def", ""),
    ("constant", "(declaration (type_qualifier) declarator: (init_declarator"
                 " declarator: (identifier) @name)) @def @_top", "translation_unit"),
) + tuple(("function", p, "translation_unit") for p in _C_PROTO)
_CPP: tuple[Pattern, ...] = _C + tuple(("function", p, "declaration_list") for p in _C_PROTO) + (
    ("function", "(field_declaration declarator: (function_declarator declarator: (field_identifier) @name)) @def",
     ""),
)

EXTRA_PATTERNS: MappingProxyType[str, tuple[Pattern, ...]] = MappingProxyType({
    "python": _PY, "javascript": _JS, "typescript": _TS, "tsx": _TS, "go": _GO, "rust": _RUST,
    "java": _JAVA, "c": _C, "cpp": _CPP,
})

#: Definition node type -> kind, for the syntax layer's definitions query.
KIND_BY_TYPE: MappingProxyType[str, str] = MappingProxyType({
    "function_definition": "function", "function_declaration": "function",
    "generator_function_declaration": "function", "function_item": "function",
    "function_signature_item": "function", "function_signature": "function",
    "variable_declarator": "function", "preproc_function_def": "macro", "macro_definition": "macro",
    "method_definition": "method", "method_declaration": "method", "constructor_declaration": "method",
    "class_definition": "class", "class_declaration": "class", "abstract_class_declaration": "class",
    "class_specifier": "class", "record_declaration": "class",
    "interface_declaration": "interface", "annotation_type_declaration": "interface",
    "trait_item": "interface",
    "struct_item": "struct", "union_item": "struct", "struct_specifier": "struct",
    "union_specifier": "struct",
    "enum_item": "enum", "enum_declaration": "enum", "enum_specifier": "enum",
    "type_alias_declaration": "type", "type_alias": "type", "type_item": "type",
    "type_definition": "type", "alias_declaration": "type", "type_spec": "type",
})

#: Go ``type_spec`` kinds by the node type of its ``type`` field.
GO_TYPE_KINDS: MappingProxyType[str, str] = MappingProxyType({
    "struct_type": "struct", "interface_type": "interface",
})

#: A definition below one of these is local (not indexed).
FUNCTION_TYPES = frozenset({
    "function_definition", "function_declaration", "generator_function_declaration",
    "function_expression", "function", "generator_function", "arrow_function",
    "method_definition", "func_literal", "method_declaration", "function_item",
    "closure_expression", "constructor_declaration", "lambda", "lambda_expression",
})

#: Nodes that make a definition below them a member: type -> field holding the name.
CLASS_CONTAINERS: MappingProxyType[str, str] = MappingProxyType({
    "class_definition": "name", "class_declaration": "name", "abstract_class_declaration": "name",
    "interface_declaration": "name", "enum_declaration": "name", "record_declaration": "name",
    "trait_item": "name", "impl_item": "type", "class_specifier": "name",
    "struct_specifier": "name", "annotation_type_declaration": "name",
})
#: Nodes that only qualify the name of a definition below them.
SCOPE_CONTAINERS: MappingProxyType[str, str] = MappingProxyType({
    "namespace_definition": "name", "mod_item": "name", "internal_module": "name",
})

#: Statements that wrap a definition without being one (comments precede the wrapper).
WRAPPER_TYPES = frozenset({
    "export_statement", "lexical_declaration", "variable_declaration", "const_declaration",
    "var_declaration", "type_declaration", "ambient_declaration", "expression_statement",
    "declaration", "template_declaration", "decorated_definition",
})
#: Siblings allowed between a definition and its leading comment.
ATTRIBUTE_TYPES = frozenset({"attribute_item", "decorator", "annotation", "marker_annotation"})
