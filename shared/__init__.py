"""Pitcrew's shared code: the Lambda layer every function imports (`import shared...`)."""
