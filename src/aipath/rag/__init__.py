"""aipath.rag"""
