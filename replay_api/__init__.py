"""The replay API and pages for spaces that are over.

Modules: ``spaces`` (the list of recorded spaces and one space's replay detail), ``media`` (audio
with Range requests or an S3 redirect, waveform peaks, captions), ``transcripts`` (downloads,
the host's right unless made public), ``search``, ``outputs`` (published files as cacheable
responses), ``listing`` (the keyset-paged query), ``deps`` (dependencies), ``pages`` (the space's
page: live room, then replay), ``api`` (all routes as one router).
"""
