"""Small, realistic source samples per language (shared by the syntax tests) and a check
that every grammar parses its sample without errors."""

from __future__ import annotations

import importlib.util
import sysconfig
from pathlib import Path

import pytest

from lsp_server.syntax.document import SyntaxDocument
from lsp_server.syntax.languages import SPECS, LanguageRegistry

CURSOR = "<|>"

SAMPLES: dict[str, str] = {
    "python": '''\
from __future__ import annotations
import os
from typing import (
    Any,
    Optional,
)

if TYPE_CHECKING:
    from pathlib import Path


def load_config(path: str, *, strict: bool = False) -> dict[str, Any]:
    """Read a config file."""
    with open(path) as handle:
        return parse(handle.read())


def parse(text: str) -> dict[str, Any]:
    return {}


def unused_helper(x: int) -> int:
    return x


@dataclass
class Settings(Base):
    """Settings."""

    name: str = "x"

    def reload(self, path: str) -> None:
        data = load_config(path)
        <|>
        self.name = data["name"]  # unused_helper is only mentioned in this comment

    def other(self) -> int:
        return 1
''',
    "javascript": '''\
import fs from "fs";
import { join } from "path";
const util = require("util");

function readJson(file) {
  return JSON.parse(fs.readFileSync(file, "utf8"));
}

function unused(a) {
  return a;
}

class Store extends Base {
  constructor(dir) {
    super();
    this.dir = dir;
  }

  load(name) {
    const data = readJson(join(this.dir, name));
    <|>
    return data;
  }
}
''',
    "typescript": '''\
import { Request, Response } from "express";
import * as path from "path";

interface User {
  id: number;
  name: string;
}

function lookup(id: number): User | undefined {
  return undefined;
}

export class UserService {
  private cache = new Map<number, User>();

  get(id: number): User | undefined {
    const hit = this.cache.get(id) ?? lookup(id);
    <|>
    return hit;
  }
}
''',
    "tsx": '''\
import React from "react";

type Props = { title: string };

function Header(props: Props) {
  return <h1>{props.title}</h1>;
}

export function App() {
  const title = "hi";
  <|>
  return <Header title={title} />;
}
''',
    "go": '''\
package server

import (
	"fmt"
	"net/http"
)

type Server struct {
	name string
}

func helper(n int) string {
	return fmt.Sprint(n)
}

func unused() {}

func (s *Server) Handle(w http.ResponseWriter, r *http.Request) error {
	msg := helper(len(s.name))
	<|>
	fmt.Fprintln(w, msg)
	return nil
}
''',
    "rust": '''\
use std::collections::HashMap;
use std::io::{self, Read};

pub struct Cache {
    map: HashMap<String, u32>,
}

fn compute(key: &str) -> u32 {
    key.len() as u32
}

fn unused() {}

impl Cache {
    pub fn get(&mut self, key: &str) -> u32 {
        let value = compute(key);
        <|>
        value
    }
}
''',
    "java": '''\
package com.example.app;

import java.util.List;
import java.util.Map;

public class Registry {
    private final Map<String, Integer> counts;

    static int weight(String key) {
        return key.length();
    }

    static void unused() {}

    public int total(List<String> keys) {
        int sum = 0;
        for (String key : keys) {
            sum += weight(key);
        }
        <|>
        return sum;
    }
}
''',
    "c": '''\
#include <stdio.h>
#include "buffer.h"

struct buffer {
    char *data;
    int len;
};

static int clamp(int v, int lo, int hi) {
    return v < lo ? lo : v > hi ? hi : v;
}

static void unused(void) {}

int buffer_write(struct buffer *b, const char *s, int n) {
    int len = clamp(n, 0, b->len);
    <|>
    return len;
}
''',
    "cpp": '''\
#include <string>
#include <vector>

namespace app {

int score(const std::string &s) {
    return static_cast<int>(s.size());
}

void unused() {}

class Ranker : public Base {
public:
    int rank(const std::vector<std::string> &items) const {
        int best = 0;
        for (const auto &item : items) {
            best = std::max(best, score(item));
        }
        <|>
        return best;
    }
};

}  // namespace app
''',
}


def split_cursor(text: str) -> tuple[str, int]:
    """Remove the cursor marker; return the text and the cursor's byte offset."""
    index = text.index(CURSOR)
    clean = text[:index] + text[index + len(CURSOR):]
    return clean, len(text[:index].encode("utf-8"))


def make_doc(
    name: str | None, text: str, registry: LanguageRegistry | None = None
) -> tuple[SyntaxDocument, int]:
    """A SyntaxDocument for ``text`` (cursor marker optional) and the cursor's byte offset."""
    registry = registry or LanguageRegistry()
    cursor = 0
    if CURSOR in text:
        text, cursor = split_cursor(text)
    return SyntaxDocument(text, SPECS[name] if name else None, registry), cursor


def big_python(lines: int = 8500) -> str:
    """About ``lines`` lines of realistic Python: stdlib modules concatenated, cut at a
    top-level boundary so the result parses cleanly."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    chunks: list[str] = []
    for module in ("_pydecimal", "argparse", "typing", "inspect"):
        spec = importlib.util.find_spec(module)
        origin = Path(spec.origin) if spec and spec.origin else stdlib / f"{module}.py"
        if origin.suffix == ".py" and origin.exists():
            chunks.append(origin.read_text(encoding="utf-8"))
    if not chunks:
        pytest.skip("stdlib sources unavailable")
    out = "\n".join(chunks).splitlines(keepends=True)
    while len(out) < lines:
        out += out
    cut = lines
    while cut > 1 and (out[cut][:1] in (" ", "\t", "\n", ")", "]", "}", "#", "@", '"', "'")
                       or out[cut - 1].rstrip().endswith(("\\", ",", "(", "[", "{"))):
        cut -= 1
    text = "".join(out[:cut])
    index = 0
    while cut < lines:  # pad with small top-level functions up to the requested size
        text += _PAD.format(index=index)
        cut += _PAD.count("\n")
        index += 1
    return text


_PAD = '''
def generated_helper_{index}(values: list[int], scale: float = 1.0) -> float:
    """Scale and sum ``values``."""
    total = 0.0
    for value in values:
        total += value * scale
    return total
'''



@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_each_grammar_parses_its_sample_without_errors(name: str) -> None:
    doc, _ = make_doc(name, SAMPLES[name])
    assert doc.tree is not None
    assert not doc.tree.root_node.has_error, str(doc.tree.root_node)
