"""Dramatiq workers: turn a recorded space into a replay (audio, captions, search index).

How it fits together:

- `workers.plan`: the stages and the parts of a run (per track, then per space);
- `workers.stages`: what each stage does, from catalog rows and storage keys to others;
  media work in `workers.prepare`, `workers.mixdown`, `workers.peaks` (ffmpeg underneath);
- `workers.actors`: the stages as Dramatiq actors, declared on a broker passed in;
- `workers.pipeline`: start a run, send what start-up owes, wait for a run;
- `workers.runtime`: all of it from settings, with worker threads in this process when there is
  no broker server (`workers.embedded`); `workers.entry`: the same for `stoa worker` processes.

Dramatiq and the broker at import time: ``@dramatiq.actor`` declares an actor on dramatiq's
global broker when its module is imported, which would force the broker (and the settings that
choose it) to exist before any import. No actor is declared at import here: `workers.actors.Actors`
declares them on the broker it is given, built from settings at the edge. The one place that
sets dramatiq's global broker is `workers.entry.setup`, which dramatiq's CLI calls in each worker
process of ``stoa worker`` (``dramatiq workers.entry:setup``), as its CLI requires.

The catalog is the source of truth of processing: each space's run, its parts and their
results, its stage, progress and error (`stoa.catalog.processing`).
"""
