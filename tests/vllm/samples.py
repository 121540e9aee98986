"""Source files the real-vLLM tests edit, with the cursor positions they ask at."""

from __future__ import annotations

PYTHON = '''\
"""Inventory of a small shop."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Item:
    sku: str
    name: str
    price_cents: int
    tags: list[str] = field(default_factory=list)

    def price(self) -> float:
        return self.price_cents / 100


class Inventory:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.items: dict[str, Item] = {}

    def load(self) -> None:
        data = json.loads(self.path.read_text(encoding="utf-8"))
        for raw in data["items"]:
            item = Item(**raw)
            self.items[item.sku] = item

    def total_value(self) -> float:
        return sum(item.price() for item in self.items.values())

    def by_tag(self, tag: str) -> list[Item]:
        
'''

GO = '''\
package shop

import (
\t"errors"
\t"fmt"
)

type Item struct {
\tSKU   string
\tPrice int
}

var ErrNotFound = errors.New("not found")

func Find(items []Item, sku string) (Item, error) {
\tfor _, it := range items {
\t\tif it.SKU == sku {
\t\t\treturn it, nil
\t\t}
\t}
\treturn Item{}, fmt.Errorf("find %q: %w", sku, ErrNotFound)
}

func Total(items []Item) int {
\ttotal := 0
\tfor _, it := range items {
\t\t
\t}
\treturn total
}
'''

TYPESCRIPT = '''\
import { readFile } from "node:fs/promises";

export interface User {
  id: number;
  name: string;
  email: string;
}

export async function loadUsers(path: string): Promise<User[]> {
  const text = await readFile(path, "utf8");
  return JSON.parse(text) as User[];
}

export function byEmail(users: User[], email: string): User | undefined {
  return users.find((u) => u.
}
'''

RUST = '''\
use std::collections::HashMap;

pub struct Cache {
    entries: HashMap<String, Vec<u8>>,
    capacity: usize,
}

impl Cache {
    pub fn new(capacity: usize) -> Self {
        Self { entries: HashMap::new(), capacity }
    }

    pub fn get(&self, key: &str) -> Option<&Vec<u8>> {
        self.entries.get(key)
    }

    pub fn insert(&mut self, key: String, value: Vec<u8>) {
        if self.entries.len() >= self.capacity {
            
        }
    }
}
'''


def after(text: str, needle: str) -> tuple[int, int]:
    """(line, character) just after the first ``needle`` (ASCII text: UTF-16 = UTF-8 = characters)."""
    end = text.index(needle) + len(needle)
    line = text.count("\n", 0, end)
    return line, end - (text.rfind("\n", 0, end) + 1)


# (file name, language id, text, cursor positions): an empty line in a body (multi-line completion),
# the end of a statement being typed, a word being typed mid-line (text after the cursor).
CASES = [
    ("inventory.py", "python", PYTHON, [after(PYTHON, "tag: str) -> list[Item]:\n        "),
                                        after(PYTHON, "self.items.values()"),
                                        after(PYTHON, "return self.price")]),
    ("shop.go", "go", GO, [after(GO, "range items {\n\t\t"), after(GO, "fmt.Err")]),
    ("users.ts", "typescript", TYPESCRIPT, [after(TYPESCRIPT, "(u) => u.")]),
    ("cache.rs", "rust", RUST, [after(RUST, ">= self.capacity {\n            "), after(RUST, "self.entries.ge")]),
]

JAVASCRIPT = '''\
const fs = require("fs");

function readConfig(path) {
  const text = fs.readFileSync(path, "utf8");
  return JSON.parse(text);
}

function average(values) {
  let sum = 0;
  for (let i = 0; i <= values.length; i++) {
    sum += values[i];
  }
  return sum / values.length;
}

module.exports = { readConfig, average };
'''

JAVA = '''\
import java.util.List;

public class Stats {
    public static double mean(List<Integer> values) {
        int sum = 0;
        for (int v : values) {
            sum += v;
        }
        return sum / values.size();
    }

    public static int max(List<Integer> values) {
        int best = 0;
        for (int v : values) {
            if (v > best) best = v;
        }
        return best;
    }
}
'''

C = '''\
#include <stdlib.h>
#include <string.h>

char *copy(const char *s) {
    char *out = malloc(strlen(s));
    strcpy(out, s);
    return out;
}

int sum(const int *values, int n) {
    int total = 0;
    for (int i = 0; i <= n; i++) {
        total += values[i];
    }
    return total;
}
'''

CPP = '''\
#include <string>
#include <vector>

class Buffer {
public:
    explicit Buffer(std::size_t n) : data_(new char[n]), size_(n) {}
    ~Buffer() { delete data_; }

    char at(std::size_t i) const { return data_[i]; }

private:
    char *data_;
    std::size_t size_;
};

std::string join(const std::vector<std::string> &parts, const std::string &sep) {
    std::string out;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        out += parts[i] + sep;
    }
    return out;
}
'''

# One file per language the review supports.
REVIEW_CASES = [
    ("inventory.py", "python", PYTHON),
    ("config.js", "javascript", JAVASCRIPT),
    ("users.ts", "typescript", TYPESCRIPT),
    ("shop.go", "go", GO),
    ("cache.rs", "rust", RUST),
    ("Stats.java", "java", JAVA),
    ("copy.c", "c", C),
    ("buffer.cpp", "cpp", CPP),
]
