"""Week 4 labs."""
