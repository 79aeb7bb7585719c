"""Errors of the transcription package.

TranscribeError (StoaError)
├── AudioError        the input is not audio that can be decoded (permanent: retrying cannot fix it)
├── ModelError        the recognition model could not be found, downloaded or loaded
├── RecognitionError  the model failed while transcribing
└── TranscriptFormatError  a stored transcript (JSON) that cannot be read back
"""

from __future__ import annotations

from stoa.errors import StoaError


class TranscribeError(StoaError):
    """Base of the transcription package's errors."""


class AudioError(TranscribeError):
    """The input is missing, is not audio, or has no audio stream; its message names it."""


class ModelError(TranscribeError):
    """The recognition model could not be found, downloaded or loaded with these settings."""


class RecognitionError(TranscribeError):
    """The recognition model failed on audio it had accepted."""


class TranscriptFormatError(TranscribeError):
    """A transcript document that is not in the published JSON format."""
