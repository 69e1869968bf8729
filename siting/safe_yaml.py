"""Strict, bounded YAML for files a user may have received by e-mail (scenarios, sweep lists).

:func:`load` reads one YAML document with PyYAML's safe loader and adds the limits a hostile file
needs, each a one-line :class:`YAMLLimitError` naming the line:

* **size**: at most :data:`MAX_BYTES` of text;
* **nesting**: at most :data:`MAX_DEPTH` levels (checked while composing, so 100 000 brackets stop
  at level 65 instead of exhausting Python's recursion);
* **aliases**: the document *as expanded* (every alias counted where it is used) has at most
  :data:`MAX_NODES` nodes and :data:`MAX_SCALAR_CHARS` characters of scalars, computed on the node
  graph without expanding it (a "billion laughs" file is rejected in milliseconds); recursive
  aliases are rejected;
* **duplicate keys**: a key given twice in one mapping is an error naming both lines (YAML would let
  the last one win silently). Merge keys (``<<: *base``) keep their YAML meaning.

It also returns the line of every key path (``("model", "type")`` → 7), computed on the composed
node graph without expanding aliases, for error messages.
"""

from __future__ import annotations

import yaml

#: Largest YAML text accepted (a scenario is a few kB).
MAX_BYTES = 1 << 20
#: Deepest nesting of mappings and sequences (scenarios use 4).
MAX_DEPTH = 64
#: Most nodes of the document with every alias expanded.
MAX_NODES = 100_000
#: Most scalar characters of the document with every alias expanded.
MAX_SCALAR_CHARS = 4 << 20

_MERGE = "tag:yaml.org,2002:merge"


class YAMLLimitError(yaml.YAMLError):
    """A YAML document beyond a limit of this module, or with a duplicate key.

    ``problem`` is the message and ``problem_mark`` the position (like PyYAML's own errors).
    """

    def __init__(self, problem: str, mark=None):
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = mark


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader with a nesting limit while scanning (brackets) and composing (indentation)."""

    _depth = 0

    def fetch_flow_collection_start(self, TokenClass):
        if self.flow_level >= MAX_DEPTH:
            raise YAMLLimitError(f"nested deeper than {MAX_DEPTH} levels", self.get_mark())
        super().fetch_flow_collection_start(TokenClass)

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise YAMLLimitError(f"nested deeper than {MAX_DEPTH} levels", self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _check(root) -> dict:
    """Expanded size, duplicate keys and the line of every key path, without expanding aliases."""
    sizes: dict[int, tuple[int, int, int]] = {}
    active: set[int] = set()

    def size(node) -> tuple[int, int, int]:
        """(nodes, scalar characters, depth) of ``node`` with its aliases expanded (memoised per node)."""
        i = id(node)
        if i in sizes:
            return sizes[i]
        if i in active:
            raise YAMLLimitError("recursive alias (a node that contains itself)", node.start_mark)
        if isinstance(node, yaml.ScalarNode):
            return 1, len(node.value), 1
        active.add(i)
        n, c, d = 1, 0, 1
        children = [x for kv in node.value for x in kv] if isinstance(node, yaml.MappingNode) else node.value
        for child in children:
            dn, dc, dd = size(child)
            n, c, d = n + dn, c + dc, max(d, dd + 1)
            if n > MAX_NODES or c > MAX_SCALAR_CHARS:
                raise YAMLLimitError(f"too large once its aliases are expanded (more than {MAX_NODES:,} values or "
                                     f"{MAX_SCALAR_CHARS >> 20} MB of text)", node.start_mark)  # fmt: skip
            if d > MAX_DEPTH:
                raise YAMLLimitError(f"nested deeper than {MAX_DEPTH} levels once its aliases are expanded", node.start_mark)
        active.discard(i)
        sizes[i] = (n, c, d)
        return n, c, d

    size(root)
    lines: dict[tuple, int] = {}
    seen: set[int] = set()

    def walk(node, path: tuple) -> None:
        if id(node) in seen:  # an alias: the line of its key here; the lines inside are those where it was defined
            lines.setdefault(path, node.start_mark.line + 1)
            return
        seen.add(id(node))
        lines[path] = node.start_mark.line + 1  # a value's own line (a block mapping's: its first key)
        if isinstance(node, yaml.MappingNode):
            first: dict = {}
            for k, v in node.value:
                if k.tag == _MERGE:
                    continue
                key = k.value if isinstance(k, yaml.ScalarNode) else None
                if key is not None and key in first:
                    raise YAMLLimitError(f"duplicate key {key!r} (lines {first[key]} and {k.start_mark.line + 1}); "
                                         "keep one", k.start_mark)  # fmt: skip
                if key is not None:
                    first[key] = k.start_mark.line + 1
                    lines.setdefault(path + (key,), k.start_mark.line + 1)
                walk(v, path + (key,))
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                walk(v, path + (i,))

    walk(root, ())
    return lines


def load(text: str):
    """Parse one YAML document within the limits of this module.

    Returns
    -------
    data : object
        What :func:`yaml.safe_load` would return (``None`` for an empty document).
    node : yaml.Node or None
        The composed document (for the text as written, e.g. numbers with leading zeros).
    lines : dict
        Key path (tuple of keys and list indices) → 1-based line.

    Raises
    ------
    yaml.YAMLError
        Invalid YAML, or :class:`YAMLLimitError` for a limit above or a duplicate key.
    """
    if len(text) > MAX_BYTES:
        raise YAMLLimitError(f"{len(text.encode('utf-8')):,} bytes: larger than the {MAX_BYTES >> 20} MB a YAML file may have "
                             "(a scenario is a few kB)")  # fmt: skip
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None, {}
        lines = _check(node)
        return loader.construct_document(node), node, lines
    finally:
        loader.dispose()


def safe_load(text: str):
    """Like :func:`yaml.safe_load`, within the limits of this module (data only)."""
    return load(text)[0]
