"""Tap recorders: each speaker's packets to its own Ogg Opus track on the space clock.

Not built yet: see the recording issue.
"""
