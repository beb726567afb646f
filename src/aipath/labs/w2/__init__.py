"""Week 2 labs."""
