"""aipath.llm"""
