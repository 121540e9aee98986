"""Symbol extraction for the workspace index: kinds, signatures, docs, ranges, containers, imports."""

from __future__ import annotations

import pytest

from lsp_server.config import DEFAULT_SECRET_GLOBS
from lsp_server.core.secrets import SecretFilter
from lsp_server.index.extract import SymbolExtractor
from lsp_server.index.pacing import Pacer, run
from lsp_server.index.symbols import FileSymbols, Import, Symbol, dumps, loads
from lsp_server.syntax.languages import SPECS, LanguageRegistry

PYTHON = '''"""Module doc."""
from .helpers import slugify as slug, other
import os.path as osp
from ..pkg import *

MAX_ITEMS = 10
lowercase_value = 3
API_KEY = "sk-abcdefghijklmnopqrstuvwxyz0123456789"


# Builds the engine.
def make_engine(speed: int = 1) -> "Engine":
    def local_helper():
        pass
    return Engine()


@dataclass
class Engine(Base):
    """Runs things.

    Longer text.
    """

    def start(self, speed: int) -> bool:
        """Start it."""
        return True

    class Part:
        def turn(self): ...
'''

TYPESCRIPT = '''import { formatName as fmt, other } from './util';
import Default, * as ns from "../lib";
const cfg = require('./config');

/**
 * The application.
 */
export class App {
  run(arg: number): void {}
}

export interface Options { verbose: boolean }
export type Id = string;
export const VERSION = "1.0";
const internal = 3;
const LIMIT = 5;
export const handler = (event: Event) => {
  const nested = () => 1;
  return nested();
};
export declare function declared(x: string): number;
'''

GO = '''package geo

import (
\t"fmt"
\tm "example.com/proj/mathx"
)

// Clamp limits v to [lo, hi].
func Clamp(v, lo, hi int) int {
\treturn v
}

// Point is a place.
type Point struct {
\tX, Y int
}

type Shape interface { Area() float64 }

// Norm returns the length.
func (p *Point) Norm() float64 { return 0 }

const (
\t// Zero is nothing.
\tZero = 0
\tOne  = 1
)

var ErrBad = fmt.Errorf("bad")
var unexported = 1
'''

RUST = '''use crate::geo::{Shape, area as surface};
use std::io;

/// Adds two numbers.
#[inline]
pub fn add(a: i32, b: i32) -> i32 {
    fn inner() {}
    a + b
}

pub const MAX: usize = 3;

/// A point.
#[derive(Debug)]
pub struct Point { x: i32 }

impl Point {
    /// Makes one.
    pub fn new() -> Self { Point { x: 0 } }
}

pub trait Draw { fn draw(&self); }
'''

JAVA = '''package a.b;
import java.util.List;

/** A widget. */
public class Widget {
    public static final int MAX = 3;
    private int size;

    /** Grows it. */
    public void grow(int by) { size += by; }
}
'''

C = '''#include "util.h"
#include <stdio.h>
#ifndef GUARD_H
#define GUARD_H
#endif
#define LIMIT 42

/* Adds. */
int add(int a, int b) { return a + b; }
int declared(const char *name);
struct point { int x; };
'''

CPP = '''class Shape {
 public:
  // The area.
  double area() const { return 0; }
  int sides();
};
int Shape::sides() { return 4; }
namespace geo { int helper() { return 1; } }
'''


@pytest.fixture(scope="module")
def extractor() -> SymbolExtractor:
    return SymbolExtractor(LanguageRegistry(), SecretFilter(DEFAULT_SECRET_GLOBS))


def _by_name(found: FileSymbols) -> dict[str, Symbol]:
    return {s.qualified_name: s for s in found.symbols}


def test_python_symbols(extractor: SymbolExtractor) -> None:
    found = extractor.extract(PYTHON, SPECS["python"], "pkg/core.py")
    symbols = _by_name(found)
    assert set(symbols) == {
        "MAX_ITEMS", "API_KEY", "make_engine", "Engine", "Engine.start", "Engine.Part", "Engine.Part.turn",
    }  # no lowercase module variable, no local function
    engine = symbols["Engine"]
    assert (engine.kind, engine.start_line, engine.end_line) == ("class", 17, 29)
    assert engine.signature == "@dataclass\nclass Engine(Base):"
    assert engine.doc == "Runs things."
    start = symbols["Engine.start"]
    assert (start.kind, start.container, start.doc) == ("method", "Engine", "Start it.")
    assert start.signature == "def start(self, speed: int) -> bool:"
    assert (start.start_line, start.end_line) == (24, 26)
    make = symbols["make_engine"]
    assert (make.kind, make.doc, make.path) == ("function", "Builds the engine.", "pkg/core.py")
    assert symbols["MAX_ITEMS"].kind == "constant"
    assert symbols["MAX_ITEMS"].signature == "MAX_ITEMS = 10"
    assert "sk-abc" not in symbols["API_KEY"].signature and "<redacted>" in symbols["API_KEY"].signature
    assert found.imports == (
        Import(".helpers", "slugify", "slug"), Import(".helpers", "other"),
        Import("os.path", None, "osp"), Import("..pkg", "*"),
    )


def test_typescript_symbols(extractor: SymbolExtractor) -> None:
    found = extractor.extract(TYPESCRIPT, SPECS["typescript"], "web/app.ts")
    symbols = _by_name(found)
    assert set(symbols) == {"App", "App.run", "Options", "Id", "VERSION", "LIMIT", "handler", "declared"}
    app = symbols["App"]
    assert (app.kind, app.doc, app.signature, app.start_line) == ("class", "The application.", "export class App", 7)
    assert (symbols["App.run"].kind, symbols["App.run"].signature) == ("method", "run(arg: number): void")
    assert symbols["Options"].kind == "interface"
    assert symbols["Id"].kind == "type"
    assert (symbols["VERSION"].kind, symbols["VERSION"].signature) == ("constant", 'export const VERSION = "1.0";')
    assert symbols["handler"].kind == "function"
    assert symbols["declared"].signature == "export declare function declared(x: string): number;"
    assert found.imports == (
        Import("./util", "formatName", "fmt"), Import("./util", "other"),
        Import("../lib", "default", "Default"), Import("../lib", "*", "ns"), Import("./config", None, "cfg"),
    )


def test_go_symbols(extractor: SymbolExtractor) -> None:
    found = extractor.extract(GO, SPECS["go"], "geo/geo.go")
    symbols = _by_name(found)
    assert set(symbols) == {"Clamp", "Point", "Shape", "Point.Norm", "Zero", "One", "ErrBad"}
    assert symbols["Clamp"].doc == "Clamp limits v to [lo, hi]."
    assert symbols["Clamp"].signature == "func Clamp(v, lo, hi int) int"
    assert (symbols["Clamp"].start_line, symbols["Clamp"].end_line) == (8, 10)
    assert (symbols["Point"].kind, symbols["Point"].doc) == ("struct", "Point is a place.")
    assert symbols["Shape"].kind == "interface"
    norm = symbols["Point.Norm"]
    assert (norm.kind, norm.container, norm.doc) == ("method", "Point", "Norm returns the length.")
    zero = symbols["Zero"]
    assert (zero.kind, zero.signature, zero.doc) == ("constant", "const Zero = 0", "Zero is nothing.")
    assert symbols["ErrBad"].kind == "variable"
    assert found.imports == (Import("fmt"), Import("example.com/proj/mathx", None, "m"))


def test_rust_symbols(extractor: SymbolExtractor) -> None:
    found = extractor.extract(RUST, SPECS["rust"], "src/lib.rs")
    symbols = _by_name(found)
    assert set(symbols) == {"add", "MAX", "Point", "Point.new", "Draw", "Draw.draw"}
    add = symbols["add"]
    assert (add.doc, add.signature, add.start_line) == ("Adds two numbers.", "pub fn add(a: i32, b: i32) -> i32", 5)
    assert (symbols["Point"].kind, symbols["Point"].doc) == ("struct", "A point.")
    assert (symbols["Point.new"].kind, symbols["Point.new"].doc) == ("method", "Makes one.")
    assert symbols["Draw"].kind == "interface"
    assert symbols["MAX"].kind == "constant"
    assert found.imports == (
        Import("crate::geo", "Shape"), Import("crate::geo", "area", "surface"), Import("std", "io"),
    )


def test_java_c_cpp_symbols(extractor: SymbolExtractor) -> None:
    java = _by_name(extractor.extract(JAVA, SPECS["java"], "a/b/Widget.java"))
    assert set(java) == {"Widget", "Widget.MAX", "Widget.grow"}
    assert java["Widget"].doc == "A widget."
    assert (java["Widget.grow"].kind, java["Widget.grow"].doc) == ("method", "Grows it.")
    c_found = extractor.extract(C, SPECS["c"], "src/util.c")
    c = _by_name(c_found)
    assert set(c) == {"LIMIT", "add", "declared", "point"}  # the include guard is not a constant
    assert (c["add"].doc, c["declared"].kind, c["point"].kind) == ("Adds.", "function", "struct")
    assert c["LIMIT"].signature == "#define LIMIT 42"
    assert c_found.imports == (Import("util.h"), Import("stdio.h"))
    cpp = _by_name(extractor.extract(CPP, SPECS["cpp"], "src/shape.cpp"))
    assert {"Shape", "Shape.area", "Shape.sides", "geo.helper"} <= set(cpp)
    assert (cpp["Shape.area"].kind, cpp["Shape.area"].doc) == ("method", "The area.")
    assert cpp["geo.helper"].kind == "function"
    sides = extractor.extract(CPP, SPECS["cpp"], "x").symbols
    assert sorted(s.start_line for s in sides if s.name == "sides") == [4, 6]  # declaration and definition


def test_paced_extraction_matches_one_go(extractor: SymbolExtractor) -> None:
    """A parse halted and resumed many times (tiny budget) gives the same symbols."""
    text = "\n".join(
        f"def f{i}(a, b):\n    '''Doc {i}.'''\n    return [a * b for _ in range(3)]\n" for i in range(1500))
    spec = SPECS["python"]
    pacer = Pacer(budget_s=0.0)  # always due: yields at every opportunity
    steps = extractor.steps(text, spec, "big.py", pacer)
    slices = 0
    while True:
        try:
            next(steps)
        except StopIteration as stop:
            paced = stop.value
            break
        slices += 1
        pacer.restart()
    assert slices > 50
    assert paced == extractor.extract(text, spec, "big.py")
    assert len(paced.rows) == 1500 and paced.symbols[-1].doc == "Doc 1499."


def test_payload_round_trip(extractor: SymbolExtractor) -> None:
    found = extractor.extract(GO, SPECS["go"], "geo/geo.go")
    assert loads(dumps(found), "geo/geo.go", "go") == found
    with pytest.raises(ValueError):
        loads('{"s": [[1]]}', "x.go", "go")


def test_unparsable_and_binary_text_do_not_raise(extractor: SymbolExtractor) -> None:
    broken = extractor.extract("def (:\n  class\n\x00\x01", SPECS["python"], "bad.py")
    assert broken.language == "python"
    assert run(extractor.steps(b"\xff\xfe def ok(): pass\n", SPECS["python"], "x.py", None)).symbols[0].name == "ok"
