"""aipath.nn"""
