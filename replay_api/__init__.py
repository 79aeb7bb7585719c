"""The replay API and pages for recorded spaces.

Not built yet: see the replay issue.
"""
