"""The /chit node information sheet (seed 001): deterministic, generated from config only.

`facts` builds plain dict sheets, `render` turns them into JSON, text or Markdown, `negotiate`
reads Accept, `etag` answers If-None-Match, `routes` holds the thin HTTP handlers.
"""
