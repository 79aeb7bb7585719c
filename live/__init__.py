"""Live rooms: the room state machine, the Opus-forwarding relay and the live API."""
