"""Screens pushed over the main view: questions (a spec path, a review comment) and the report."""
