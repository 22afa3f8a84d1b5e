"""The factory loop: a spec in, tested software out, as a persisted state machine."""
