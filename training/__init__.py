"""Learning: the Django side schedules and records runs; training.core does maths."""
