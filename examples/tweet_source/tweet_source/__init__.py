"""Which phone wrote this tweet? A text classifier whose vectorizer is saved apart from it."""
