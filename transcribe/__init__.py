"""Transcription engines (faster-whisper) behind a small interface.

Not built yet: see the pipeline issue.
"""
