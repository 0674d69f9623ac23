"""Asset files: fetched into a `.part` that resumes, checked against what the server said,
and recorded so a later run knows what changed."""
