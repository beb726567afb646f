"""aipath.ml"""
