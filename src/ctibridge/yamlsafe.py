"""YAML for configuration and mapping files, bounded against alias bombs.

``yaml.safe_load`` builds nothing dangerous, but aliases let a 1 KB file stand
for a billion nodes ("billion laughs"): nothing is copied, yet everything that
walks the result (validation, our line-number walk) visits every one of them.
This loader counts the nodes a document stands for as it is composed, aliases
expanded, and stops with a YAML error at a bound no real file comes near.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, SequenceNode

MAX_ALIASES = 1_000
MAX_NODES = 200_000  # nodes the document stands for, every alias expanded


class BoundedSafeLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` refusing recursive aliases, more than MAX_ALIASES aliases and
    documents standing for more than MAX_NODES nodes."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._aliases = 0
        self._nodes = 0
        self._sizes: dict[int, int] = {}

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(AliasEvent):
            event = self.peek_event()
            node = self.anchors.get(event.anchor) if event.anchor is not None else None
            if node is not None:
                self._aliases += 1
                if self._aliases > MAX_ALIASES:
                    raise ComposerError(None, None, f"more than {MAX_ALIASES} aliases (*name);"
                                        " write the values out", event.start_mark)
                size = self._sizes.get(id(node))
                if size is None:  # the anchored node is still being composed
                    raise ComposerError(None, None, f"the alias *{event.anchor} refers to "
                                        "a node that contains it", event.start_mark)
                self._count(size, event.start_mark)
            return super().compose_node(parent, index)
        start = self.peek_event().start_mark
        node = super().compose_node(parent, index)
        if node is not None and id(node) not in self._sizes:
            size = 1 + sum(self._sizes.get(id(c), 1) for c in _children(node))
            self._sizes[id(node)] = size
            self._count(1, start)
        return node

    def _count(self, n: int, mark: Any) -> None:
        self._nodes += n
        if self._nodes > MAX_NODES:
            raise ComposerError(None, None, f"the document stands for more than {MAX_NODES:,} "
                                "values once its aliases are expanded (an alias bomb?)", mark)


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def load(text: str) -> Any:
    """``yaml.safe_load`` with the bounds above."""
    return yaml.load(text, Loader=BoundedSafeLoader)  # noqa: S506 - a SafeLoader subclass


def compose(text: str) -> Node | None:
    """``yaml.compose`` with the SafeLoader and the bounds above."""
    return yaml.compose(text, Loader=BoundedSafeLoader)
