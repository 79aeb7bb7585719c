"""A tiny random Whisper model for tests: no weights are downloaded, none are real.

``write_tiny_model(folder)`` fills ctranslate2's ``WhisperSpec`` from numpy (no torch) and
writes beside it a byte-level BPE ``tokenizer.json`` made with the ``tokenizers`` library and a
``preprocessor_config.json``, so ``WhisperModel(folder)`` loads it as it would a converted
checkpoint. Its text is noise; its timings are not to be trusted either. What is real around it
(decoding, VAD, time mapping, clamping, formats) is what the tests check.

The vocabulary keeps the three things faster-whisper and ctranslate2 rely on:

- ``<|endoftext|>`` is the first special token (``Tokenizer.decode`` keeps ids below it);
- the timestamp tokens ``<|0.00|>`` ... ``<|30.00|>`` follow ``<|notimestamps|>`` at once and end
  the vocabulary (ctranslate2 takes ``vocabulary.size() - 1`` as the last timestamp);
- start and end tokens have their literal names (``<|startoftranscript|>``, ``<|endoftext|>``).

Its 1900-odd tokens make it an English-only model to ctranslate2: no language detection.
``TinyDimensions(multilingual=True)`` builds Whisper's multilingual layout instead (51865 tokens:
the text tokens padded with fillers to 50257, the last one empty, which is how ctranslate2 4.8
tells a multilingual vocabulary; the 99 language tokens right after ``<|startoftranscript|>``,
listed in the config's ``lang_ids`` for detection) and makes one chosen language the one
detection finds, whatever the audio.
Importable by other test packages (``from tests.transcribe.tiny_model import write_tiny_model``).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from ctranslate2.specs import common_spec, whisper_spec
from faster_whisper.tokenizer import _LANGUAGE_CODES
from tokenizers import Tokenizer, decoders, models, pre_tokenizers

SPECIALS = (
    "<|endoftext|>",
    "<|startoftranscript|>",
    "<|translate|>",
    "<|transcribe|>",
    "<|startoflm|>",
    "<|startofprev|>",
    "<|nospeech|>",
    "<|notimestamps|>",
)
TIMESTAMPS = tuple(f"<|{i * 0.02:.2f}|>" for i in range(1501))  # <|0.00|> ... <|30.00|>
# Whisper's 99 languages (before large-v3 added Cantonese), named as faster-whisper knows them;
# ctranslate2 reads a language's name from its token, so their order does not matter.
LANGUAGES = tuple(code for code in _LANGUAGE_CODES if code != "yue")
MULTILINGUAL_TEXT_TOKENS = 50257  # <|endoftext|> is token 50257 in a multilingual vocabulary
# How far the chosen language's output bias stands above the other 98: detected with p = 0.97.
LANGUAGE_MARGIN = 8.0

ENCODER_POSITIONS = 1500  # 30 s of 10 ms mel frames, halved by the second convolution
DECODER_POSITIONS = 448  # faster-whisper's max_length


@dataclass(frozen=True)
class TinyDimensions:
    """The model's size; the default is about 1 MB on disk."""

    n_mels: int = 80
    d_model: int = 32
    encoder_layers: int = 2
    decoder_layers: int = 2
    heads: int = 4
    ffn: int = 64
    seed: int = 0
    readable: bool = True
    """Shape the output layer so the model writes lowercase words, each position's choice
    clear (no temperature fallback), and no timestamps of its own: one segment per window,
    its words spread over the speech by alignment. False: every token equally likely, so
    the text is any bytes and segments run past the end of the audio."""
    eot_bias: float = 10.0
    """With ``readable``: how soon a window's text ends (higher: sooner)."""
    multilingual: bool = False
    """Whisper's multilingual vocabulary (51865 tokens), so that ctranslate2 detects languages
    and faster-whisper accepts a language; False: an English-only model of about 1900 tokens."""
    language: str = "de"
    """With ``multilingual``: the language detection finds on any audio (its token's output
    bias is the highest of the languages'; every language token is still far below text)."""


LETTERS = "abcdefghijklmnopqrstuvwxyz"
# Merged tokens, as a real BPE vocabulary has: faster-whisper suppresses the first token of " -"
# and " '", which without these merges would be the space itself.
MERGES = [("Ġ", "-"), ("Ġ", "'"), *(("Ġ", letter) for letter in LETTERS)]


def vocabulary(multilingual: bool = False) -> list[str]:
    """Every byte, the merged tokens, then the special and timestamp tokens.

    Multilingual: fillers after the merged tokens up to 50257 text tokens (no merge makes one,
    so the tokenizer never writes them, and the readable model's output never does either),
    the last of them empty as in Whisper's own vocabulary (ctranslate2 4.8 takes a vocabulary
    with an empty token for a multilingual one), and the language tokens after
    ``<|startoftranscript|>``.
    """
    text = [*sorted(pre_tokenizers.ByteLevel.alphabet()), *(a + b for a, b in MERGES)]
    specials = list(SPECIALS)
    if multilingual:
        text += [f"<filler{i}>" for i in range(MULTILINGUAL_TEXT_TOKENS - 1 - len(text))]
        text.append("")
        specials[2:2] = [f"<|{code}|>" for code in LANGUAGES]
    return [*text, *specials, *TIMESTAMPS]


def _tokenizer(tokens: list[str]) -> Tokenizer:
    first_special = tokens.index(SPECIALS[0])
    vocab = {token: i for i, token in enumerate(tokens[:first_special])}
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=MERGES))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.add_special_tokens(tokens[first_special:])
    return tokenizer


def _fill(spec: whisper_spec.WhisperSpec, dims: TinyDimensions, vocab_size: int) -> None:
    rng = np.random.default_rng(dims.seed)
    d = dims.d_model

    def normal(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.05).astype(np.float32)

    def norm(spec_: common_spec.LayerNormSpec) -> None:
        spec_.gamma = np.ones(d, dtype=np.float32)
        spec_.beta = np.zeros(d, dtype=np.float32)

    def linear(spec_: common_spec.LinearSpec, rows: int, cols: int) -> None:
        spec_.weight = normal(rows, cols)
        spec_.bias = np.zeros(rows, dtype=np.float32)

    def ffn(spec_: object) -> None:
        norm(spec_.layer_norm)  # type: ignore[attr-defined]
        linear(spec_.linear_0, dims.ffn, d)  # type: ignore[attr-defined]
        linear(spec_.linear_1, d, dims.ffn)  # type: ignore[attr-defined]

    encoder = spec.encoder
    encoder.conv1.weight = normal(d, dims.n_mels, 3)
    encoder.conv1.bias = np.zeros(d, dtype=np.float32)
    encoder.conv2.weight = normal(d, d, 3)
    encoder.conv2.bias = np.zeros(d, dtype=np.float32)
    encoder.position_encodings.encodings = normal(ENCODER_POSITIONS, d)
    norm(encoder.layer_norm)
    for layer in encoder.layer:
        norm(layer.self_attention.layer_norm)
        linear(layer.self_attention.linear[0], 3 * d, d)  # fused q, k, v
        linear(layer.self_attention.linear[1], d, d)
        ffn(layer.ffn)

    decoder = spec.decoder
    decoder.embeddings.weight = normal(vocab_size, d)
    decoder.position_encodings.encodings = normal(DECODER_POSITIONS, d)
    norm(decoder.layer_norm)
    decoder.projection.weight = decoder.embeddings.weight  # tied, as in Whisper
    if dims.readable:
        _readable_output(decoder, dims, rng)
    for layer in decoder.layer:
        norm(layer.self_attention.layer_norm)
        linear(layer.self_attention.linear[0], 3 * d, d)
        linear(layer.self_attention.linear[1], d, d)
        norm(layer.attention.layer_norm)
        linear(layer.attention.linear[0], d, d)  # queries
        linear(layer.attention.linear[1], 2 * d, d)  # fused keys, values of the audio
        linear(layer.attention.linear[2], d, d)
        ffn(layer.ffn)


def _readable_output(decoder: object, dims: TinyDimensions, rng: np.random.Generator) -> None:
    # The decoder's last state is dominated by its position encoding (large next to the small
    # random layers), so each position picks a clear token whatever came before: text that is
    # confident and does not repeat, which passes Whisper's log-probability and compression
    # checks on the first try. Letters and word starts only; timestamps and the end token sit at
    # fixed levels below that. Language tokens too: only ctranslate2's detection, which weighs
    # them against each other alone, sees the chosen one stand out.
    tokens = vocabulary(dims.multilingual)
    d = dims.d_model
    allowed = [tokens.index(c) for c in LETTERS] + [tokens.index("Ġ" + c) for c in LETTERS]
    weight = np.zeros((len(tokens), d), dtype=np.float32)
    weight[allowed] = rng.standard_normal((len(allowed), d)).astype(np.float32)
    bias = np.full(len(tokens), -30.0, dtype=np.float32)
    bias[allowed] = 0.0
    bias[allowed[len(LETTERS) :]] = 2.0  # word starts: words of a few letters
    bias[tokens.index("<|endoftext|>")] = dims.eot_bias
    bias[tokens.index(TIMESTAMPS[0]) :] = -8.0
    if dims.multilingual:
        bias[tokens.index(f"<|{dims.language}|>")] += LANGUAGE_MARGIN
    decoder.position_encodings.encodings = rng.standard_normal(  # type: ignore[attr-defined]
        (DECODER_POSITIONS, d)
    ).astype(np.float32)
    projection = common_spec.LinearSpec()
    projection.weight = weight
    projection.bias = bias
    decoder.projection = projection  # type: ignore[attr-defined]


def write_tiny_model(folder: Path, dims: TinyDimensions | None = None) -> Path:
    """Write a random CTranslate2 Whisper model into ``folder`` (created) and return it."""
    dims = dims or TinyDimensions()
    if dims.multilingual and not (dims.readable and dims.language in LANGUAGES):
        raise ValueError("a multilingual tiny model is readable and detects one of LANGUAGES")
    folder.mkdir(parents=True, exist_ok=True)
    tokens = vocabulary(dims.multilingual)
    spec = whisper_spec.WhisperSpec(
        dims.encoder_layers, dims.heads, dims.decoder_layers, dims.heads
    )
    _fill(spec, dims, len(tokens))
    spec.register_vocabulary(tokens)
    config = spec.config
    config.suppress_ids = []
    config.suppress_ids_begin = [tokens.index("<|endoftext|>")]
    config.lang_ids = [tokens.index(f"<|{code}|>") for code in LANGUAGES if dims.multilingual]
    # Word timings come from cross-attention: use every head of the last half of the layers,
    # as ctranslate2's converter does when a checkpoint names none.
    config.alignment_heads = list(
        itertools.product(range(dims.decoder_layers // 2, dims.decoder_layers), range(dims.heads))
    )
    spec.validate()
    spec.optimize(quantization=None)
    spec.save(str(folder))
    _tokenizer(tokens).save(str(folder / "tokenizer.json"))
    (folder / "preprocessor_config.json").write_text(
        json.dumps(
            {
                "feature_size": dims.n_mels,
                "sampling_rate": 16000,
                "hop_length": 160,
                "chunk_length": 30,
                "n_fft": 400,
            }
        )
    )
    (folder / "dimensions.json").write_text(json.dumps(asdict(dims)))
    return folder
