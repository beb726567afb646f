"""aipath.bench"""
