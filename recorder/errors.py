"""Errors of the recorder.

RecorderError
├── TrackError          a track file could not be written or read
└── RecoveryError       a partial recording could not be finalized
"""


class RecorderError(Exception):
    """Base of the recorder's errors."""


class TrackError(RecorderError):
    pass


class RecoveryError(RecorderError):
    pass
