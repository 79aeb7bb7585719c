"""Dramatiq workers: transcode, transcribe, index and publish recorded spaces.

Not built yet: see the pipeline issue.
"""
