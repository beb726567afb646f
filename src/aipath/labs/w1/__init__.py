"""Week 1 labs."""
