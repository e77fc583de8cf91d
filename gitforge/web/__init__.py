"""The Flask app: HTML pages, the JSON API and git over HTTP."""
