"""Thin step modules by domain: parse the sentence, call ``drills``, assert with a message that
names host, job and path."""
