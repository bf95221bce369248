"""zh-CN / en message catalogs and language negotiation (user setting, then Accept-Language)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

LANGUAGES = ("zh-CN", "en")
DEFAULT = "zh-CN"
_DIR = Path(__file__).with_name("locales")


class _UniqueKeys(yaml.SafeLoader):
    """A YAML loader that refuses a key repeated in one mapping (plain YAML keeps the last one
    silently, which once made the internal-note checkbox read "修改说明")."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                line = key_node.start_mark.line + 1
                raise ValueError(f"{self.name}: line {line}: key {key!r} defined twice")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


@lru_cache
def catalog(lang: str) -> dict[str, str]:
    """The flat catalog of ``lang``: ``locales/<lang>.yaml`` and then each context's own
    ``locales/<context>/<lang>.yaml`` (so a context's strings live beside each other, not in one
    shared file); a key defined twice is an error, not a silent override."""
    files = [_DIR / f"{lang}.yaml", *sorted(_DIR.glob(f"*/{lang}.yaml"))]
    flat: dict[str, str] = {}
    for path in files:
        with path.open(encoding="utf-8") as stream:
            data = yaml.load(stream, Loader=_UniqueKeys)  # noqa: S506 (a SafeLoader)
        part = _flatten(data or {})
        clash = sorted(set(part) & set(flat))
        if clash:
            raise ValueError(f"{path}: keys already defined elsewhere: {', '.join(clash[:5])}")
        flat.update(part)
    return flat


def _flatten(data: Any) -> dict[str, str]:
    flat: dict[str, str] = {}

    def walk(prefix: str, node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        else:
            flat[prefix] = str(node)

    walk("", data)
    return flat


def normalise(lang: str | None) -> str:
    if not lang:
        return DEFAULT
    low = lang.strip().lower()
    if low.startswith("en"):
        return "en"
    if low.startswith("zh"):
        return "zh-CN"
    return DEFAULT


def negotiate(accept_language: str | None, preferred: str | None = None) -> str:
    """A user's explicit choice wins; else the best Accept-Language match; else zh-CN."""
    if preferred:
        return normalise(preferred)
    if not accept_language:
        return DEFAULT
    choices: list[tuple[float, int, str]] = []
    for i, part in enumerate(accept_language.split(",")):
        bits = part.strip().split(";")
        tag = bits[0].strip().lower()
        q = 1.0
        for b in bits[1:]:
            if b.strip().startswith("q="):
                try:
                    q = float(b.strip()[2:])
                except ValueError:
                    q = 0.0
        if tag.startswith(("zh", "en")):
            choices.append((-q, i, tag))
    if not choices:
        return DEFAULT
    return normalise(sorted(choices)[0][2])


def t(key: str, lang: str = DEFAULT, **kwargs: Any) -> str:
    """Translates ``key``; falls back to zh-CN, then to the key itself (visible, never blank)."""
    text = catalog(normalise(lang)).get(key) or catalog(DEFAULT).get(key) or key
    return text.format(**kwargs) if kwargs else text
