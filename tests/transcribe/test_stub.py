"""The scripted engine stands in after recognition, with the real engine's timing rules."""

from __future__ import annotations

import numpy as np

from transcribe.audio import SAMPLE_RATE
from transcribe.engine import Engine
from transcribe.segments import Segment
from transcribe.stub import ScriptedEngine


def test_scripted_segments_are_clamped_to_the_audio() -> None:
    engine: Engine = ScriptedEngine([Segment(1.0, 2.0, "hi"), Segment(2.5, 9.0, "there")])
    audio = np.zeros(4 * SAMPLE_RATE, dtype=np.float32)
    out = list(engine.transcribe(audio))
    assert [(s.text, s.end) for s in out] == [("hi", 2.0), ("there", 4.0)]
    assert [s.end for s in engine.transcribe(iter([audio]), duration=3.0)] == [2.0, 3.0]


def test_a_script_can_depend_on_the_track() -> None:
    engine = ScriptedEngine(lambda duration: [Segment(0.0, duration, f"{duration:.0f} s")])
    assert [s.text for s in engine.transcribe(np.zeros(2 * SAMPLE_RATE, np.float32))] == ["2 s"]
    assert [s.text for s in engine.transcribe(np.zeros(5 * SAMPLE_RATE, np.float32))] == ["5 s"]
    assert engine.calls == 2
