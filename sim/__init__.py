"""The demo and generated camera frames: the one place that composes the gate and the centre."""
