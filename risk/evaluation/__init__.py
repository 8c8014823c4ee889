"""Evaluation of the risk engine: trace simulator, replay and its statistics, calibration.

Not part of the engine that signs people in: the site never imports it, and only here is there
randomness (the simulated traces).
"""
