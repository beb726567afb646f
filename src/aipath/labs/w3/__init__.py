"""Week 3 labs."""
