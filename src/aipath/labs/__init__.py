"""aipath.labs"""
