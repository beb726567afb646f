"""aipath.serve"""
