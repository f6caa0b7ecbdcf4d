"""The fleet of gates and the live page of today's check-ins."""

LIVE_PER_PAGE = 30  # checkpoints a page of the live page; bench/web.py reads it without Django
