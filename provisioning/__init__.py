"""Technician and administrator tools: keys, checkpoints, device enrollment, broker config."""
