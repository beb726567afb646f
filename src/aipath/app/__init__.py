"""aipath.app"""
