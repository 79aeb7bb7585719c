"""Speech recognition for replays: per-speaker tracks in, captions and transcripts out.

- ``audio``: any file as 16 kHz mono float32 chunks (PyAV), in constant memory;
- ``vad``: Silero VAD on the stream, cutting speech from silence;
- ``engine``: the ``Engine`` interface, ``TranscribeOptions`` and ``create_engine``;
  ``whisper`` is the faster-whisper engine, ``stub`` a scripted one for tests;
- ``captions``: the merged timeline of every speaker, as WebVTT, SRT, text and JSON
  (``cues`` lays out readable cues; the JSON schema is ``transcript.schema.json``);
- ``cli``: ``stoa transcribe``.
"""
